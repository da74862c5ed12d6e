-- KEYS: room, participants. ARGV: now, token, owner, update_time, expires_at, then
-- field/value pairs. Returns 'room', 'owner' or {room fields, targets}.
local owner = live_owner(ARGV[2], now)
if not owner then return 'room' end
if owner ~= ARGV[3] then return 'owner' end
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
redis.call('HINCRBY', KEYS[1], 'g', 1) -- a join decided on the old fields is refused
local expires_at = ARGV[5]
if expires_at == '' then expires_at = redis.call('HGET', KEYS[1], 'expires_at') end
local ms = ttl_ms(expires_at, now)
redis.call('PEXPIRE', KEYS[1], ms)
redis.call('PEXPIRE', KEYS[2], ms)
index_room(owner, ARGV[2], ARGV[4], ms)
return {redis.call('HGETALL', KEYS[1]), targets(owner, 'rooms', now)}
