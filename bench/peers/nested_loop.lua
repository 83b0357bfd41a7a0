-- nested_loop peer: two nested 100 x 100 while loops adding i + j, repeated 240 times; mirrors bench/nested_loop.fasm.
-- reps: 240
-- Prints the result on stdout and the algorithm's own time as time_ms=<float> on stderr.
local start = os.clock()
local rep = 0
local sum
local i
local j
while rep < 240 do
  sum = 0
  i = 0
  while i < 100 do
    j = 0
    while j < 100 do
      sum = sum + i + j
      j = j + 1
    end
    i = i + 1
  end
  rep = rep + 1
end
local elapsed = os.clock() - start
print(string.format("%d", sum))
io.stderr:write(string.format("time_ms=%.3f\n", elapsed * 1000))
