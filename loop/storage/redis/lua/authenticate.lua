-- KEYS: session, nonces. ARGV: now, '<ts>:<nonce>:<mac>', session expiry, nonce expiry.
-- Returns nil (no live session), 'replayed' (nothing touched), or {key, user mac,
-- identity}: the request recorded until its nonce expiry (when its timestamp can no
-- longer be accepted; not at all if that has passed), the session touched.
local s = redis.call('HMGET', KEYS[1], 'k', 'e', 'u', 'i', 'pu', 'x')
if not s[1] or tonumber(s[2]) <= now then return false end
if tonumber(ARGV[4]) > now then
  local seen = redis.call('ZSCORE', KEYS[2], ARGV[2])
  if seen and tonumber(seen) > now then return 'replayed' end
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[2])
  extend(KEYS[2], ttl_ms(ARGV[4], now))
end
redis.call('HSET', KEYS[1], 'e', ARGV[3])
local ms = ttl_ms(ARGV[3], now)
redis.call('PEXPIRE', KEYS[1], ms)
keep_indexes(KEYS[1], s[5], s[3], ARGV[3], s[6])
return {s[1], s[3], s[4]}
