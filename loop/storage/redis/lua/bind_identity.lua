-- KEYS: session. ARGV: now, session expiry, user mac, identity.
local s = redis.call('HMGET', KEYS[1], 'k', 'e', 'pu')
if not s[1] or tonumber(s[2]) <= now then return 0 end
redis.call('HSET', KEYS[1], 'e', ARGV[2], 'u', ARGV[3], 'i', ARGV[4])
local ms = ttl_ms(ARGV[2], now)
redis.call('PEXPIRE', KEYS[1], ms)
for _, user in ipairs(push_users(s[3])) do foreign('extend', push_index(user), ms) end
index_session(KEYS[1], ARGV[3], ms)
if CLUSTER then redis.call('HDEL', KEYS[1], 'x') end -- another user: its indexes anew
return 1
