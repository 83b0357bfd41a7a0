-- fib_recursive peer: naive recursive fib(20), repeated 60 times; mirrors bench/fib_recursive.fasm.
-- reps: 60
-- Prints the result on stdout and the algorithm's own time as time_ms=<float> on stderr.
local function fib(n)
  if n < 2 then
    return n
  end
  return fib(n - 1) + fib(n - 2)
end

local start = os.clock()
local rep = 0
local result
while rep < 60 do
  result = fib(20)
  rep = rep + 1
end
local elapsed = os.clock() - start
print(string.format("%d", result))
io.stderr:write(string.format("time_ms=%.3f\n", elapsed * 1000))
