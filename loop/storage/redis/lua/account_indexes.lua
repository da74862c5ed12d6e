-- Cluster only: what an account deletion walks, read from the user's hash slot. KEYS: the
-- user's push, sessions, rooms, urls and calls indexes. ARGV: now (unused).
return {
  redis.call('SMEMBERS', KEYS[1]), redis.call('SMEMBERS', KEYS[2]),
  redis.call('ZRANGE', KEYS[3], 0, -1), redis.call('ZRANGE', KEYS[4], 0, -1),
  redis.call('ZRANGE', KEYS[5], 0, -1)}
