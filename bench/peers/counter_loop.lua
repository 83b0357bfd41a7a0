-- counter_loop peer: a counter to 100,000 as a while loop, repeated 60 times; mirrors bench/counter_loop.fasm.
-- reps: 60
-- Prints the result on stdout and the algorithm's own time as time_ms=<float> on stderr.
local start = os.clock()
local rep = 0
local i
while rep < 60 do
  i = 0
  while i < 100000 do
    i = i + 1
  end
  rep = rep + 1
end
local elapsed = os.clock() - start
print(string.format("%d", i))
io.stderr:write(string.format("time_ms=%.3f\n", elapsed * 1000))
