-- fib_iterative peer: iterative fib(35) in a function, repeated 50000 times; mirrors bench/fib_iterative.fasm.
-- reps: 50000
-- Prints the result on stdout and the algorithm's own time as time_ms=<float> on stderr.
local function fib_iter(n)
  local a = 0
  local b = 1
  local i = 0
  local t
  while i < n do
    t = a + b
    a = b
    b = t
    i = i + 1
  end
  return a
end

local start = os.clock()
local rep = 0
local result
while rep < 50000 do
  result = fib_iter(35)
  rep = rep + 1
end
local elapsed = os.clock() - start
print(string.format("%d", result))
io.stderr:write(string.format("time_ms=%.3f\n", elapsed * 1000))
