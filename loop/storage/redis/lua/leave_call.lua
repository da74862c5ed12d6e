-- A call progress step. ARGV: ..., party, reason.
local left = redis.call('HINCRBY', KEYS[1], 'n:' .. ARGV[3], -1)
if left <= 0 then
  redis.call('HSET', KEYS[1], 'n:' .. ARGV[3], 0)
  if before > 0 then terminate(ARGV[4]) end
end
