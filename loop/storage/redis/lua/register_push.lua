-- KEYS: session, then the user's push index (done at once in a cluster when in the
-- session's slot: a guest's). ARGV: now, device, user, default expiry, then topic/target
-- pairs.
local s = redis.call('HMGET', KEYS[1], 'e', 'pu')
local expires_at = s[1]
if not expires_at then
  expires_at = ARGV[4]
  redis.call('HSET', KEYS[1], 'e', expires_at)
  redis.call('PEXPIRE', KEYS[1], ttl_ms(expires_at, now))
end
register_targets(KEYS[1], s[2], ARGV[2], ARGV[3], expires_at, 5, now)
