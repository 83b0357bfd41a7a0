-- sum_unfused peer: sum of 1..1,000,000 as a while loop, repeated 3 times; mirrors bench/sum_unfused.fasm.
-- reps: 3
-- Prints the result on stdout and the algorithm's own time as time_ms=<float> on stderr.
local start = os.clock()
local rep = 0
local sum
local i
while rep < 3 do
  sum = 0
  i = 1
  while i < 1000001 do
    sum = sum + i
    i = i + 1
  end
  rep = rep + 1
end
local elapsed = os.clock() - start
print(string.format("%d", sum))
io.stderr:write(string.format("time_ms=%.3f\n", elapsed * 1000))
