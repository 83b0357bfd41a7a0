-- ackermann peer: recursive ackermann(3, 4), repeated 120 times; mirrors bench/ackermann.fasm.
-- reps: 120
-- Prints the result on stdout and the algorithm's own time as time_ms=<float> on stderr.
local function ack(m, n)
  if m == 0 then
    return n + 1
  end
  if n == 0 then
    return ack(m - 1, 1)
  end
  return ack(m - 1, ack(m, n - 1))
end

local start = os.clock()
local rep = 0
local result
while rep < 120 do
  result = ack(3, 4)
  rep = rep + 1
end
local elapsed = os.clock() - start
print(string.format("%d", result))
io.stderr:write(string.format("time_ms=%.3f\n", elapsed * 1000))
