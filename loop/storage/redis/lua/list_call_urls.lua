-- KEYS: owner's index. ARGV: now, user. Returns the live records' JSON, in order.
local found = {}
for _, token in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local u = redis.call('HMGET', 'cu:{' .. token .. '}', 'u', 'e', 'd')
  if not u[1] or u[1] ~= ARGV[2] then
    redis.call('ZREM', KEYS[1], token)
  elseif tonumber(u[2]) > now then
    found[#found + 1] = u[3]
  end
end
return found
