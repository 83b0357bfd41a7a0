-- string_build peer: append "x" 10,000 times with .., repeated 15 times; mirrors bench/string_build.fasm.
-- reps: 15
-- Prints the string's length on stdout and the algorithm's own time as time_ms=<float> on stderr.
local start = os.clock()
local rep = 0
local s
local i
while rep < 15 do
  s = ""
  i = 0
  while i < 10000 do
    s = s .. "x"
    i = i + 1
  end
  rep = rep + 1
end
local elapsed = os.clock() - start
print(string.format("%d", #s))
io.stderr:write(string.format("time_ms=%.3f\n", elapsed * 1000))
