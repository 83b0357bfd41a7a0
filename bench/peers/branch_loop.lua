-- branch_loop peer: 100,000 iterations with an if/else on i % 2, repeated 30 times; mirrors bench/branch_loop.fasm.
-- reps: 30
-- Prints the result on stdout and the algorithm's own time as time_ms=<float> on stderr.
local start = os.clock()
local rep = 0
local i
local a
local b
while rep < 30 do
  a = 0
  b = 0
  i = 0
  while i < 100000 do
    if i % 2 == 0 then
      a = a + i
    else
      b = b + 1
    end
    i = i + 1
  end
  rep = rep + 1
end
local elapsed = os.clock() - start
print(string.format("%d", a))
print(string.format("%d", b))
io.stderr:write(string.format("time_ms=%.3f\n", elapsed * 1000))
