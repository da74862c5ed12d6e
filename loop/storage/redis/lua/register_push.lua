-- KEYS: session (then the user's push index, unused). ARGV: now, device, user, default
-- expiry, then topic/target pairs. A device keeps one record per user it registered as.
local s = redis.call('HMGET', KEYS[1], 'e', 'pu')
local expires_at = s[1]
if not expires_at then
  expires_at = ARGV[4]
  redis.call('HSET', KEYS[1], 'e', expires_at)
  redis.call('PEXPIRE', KEYS[1], ttl_ms(expires_at, now))
end
local users = push_users(s[2])
local known = false
for _, user in ipairs(users) do known = known or user == ARGV[3] end
if not known then users[#users + 1] = ARGV[3] end
redis.call('HSET', KEYS[1], 'pu', table.concat(users, '\n'))
if CLUSTER then redis.call('HDEL', KEYS[1], 'x') end -- maybe a new push index to keep
for i = 5, #ARGV, 2 do
  redis.call('HSET', KEYS[1], 'p:' .. ARGV[i] .. ':' .. ARGV[3], ARGV[i + 1])
end
foreign('SADD', push_index(ARGV[3]), ARGV[2])
foreign('extend', push_index(ARGV[3]), ttl_ms(expires_at, now))
