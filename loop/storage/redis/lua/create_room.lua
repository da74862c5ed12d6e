-- KEYS: room, participants. ARGV: now, token, owner, update_time, expires_at, then
-- field/value pairs. Returns the owner's rooms targets.
drop_room(ARGV[2])
redis.call('HSET', KEYS[1], 'g', 0, unpack(ARGV, 6))
local ms = ttl_ms(ARGV[5], now)
redis.call('PEXPIRE', KEYS[1], ms)
index_room(ARGV[3], ARGV[2], ARGV[4], ms)
return targets(ARGV[3], 'rooms', now)
