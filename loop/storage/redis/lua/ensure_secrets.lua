-- KEYS: secrets. ARGV: now (unused), name/value pairs. Returns the stored values.
local names = {}
for i = 2, #ARGV, 2 do
  redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1])
  names[#names + 1] = ARGV[i]
end
return redis.call('HMGET', KEYS[1], unpack(names))
