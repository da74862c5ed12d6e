-- KEYS: user's calls index. ARGV: now, since. Returns the live, not terminated records.
local found = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[2], '+inf')) do
  local key = 'c:{' .. id .. '}'
  local c = redis.call('HMGET', key, 'e', 'd')
  if not c[1] then
    redis.call('ZREM', KEYS[1], id)
  elseif tonumber(c[1]) > now and redis.call('SCARD', key .. ':m') > 0 then
    found[#found + 1] = c[2]
  end
end
return found
