-- KEYS: session, nonces. ARGV: now, '<ts>:<nonce>', session expiry, nonce expiry.
-- Returns nil (no live session), 'replayed' (nothing touched), or 1: nonce recorded until
-- its expiry (when its timestamp can no longer be accepted), session touched.
local s = redis.call('HMGET', KEYS[1], 'e', 'u', 'pu')
if not s[1] or tonumber(s[1]) <= now then return false end
local seen = redis.call('ZSCORE', KEYS[2], ARGV[2])
if seen and tonumber(seen) > now then return 'replayed' end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[2])
extend(KEYS[2], ttl_ms(ARGV[4], now))
redis.call('HSET', KEYS[1], 'e', ARGV[3])
local ms = ttl_ms(ARGV[3], now)
redis.call('PEXPIRE', KEYS[1], ms)
for _, user in ipairs(push_users(s[3])) do extend(push_index(user), ms) end
if s[2] then extend('u:{' .. s[2] .. '}:sessions', ms) end
return 1
