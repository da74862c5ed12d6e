-- KEYS: room, participants, rate windows... ARGV: now, token, owner, update_time,
-- expires_at, most rooms per owner (0: no cap), windows spec, then field/value pairs.
-- Returns the owner's rooms targets, 'cap', or the milliseconds a full window still lasts.
local found = windows(3, ARGV[7])
local full = full_for(found)
if full then return full end
local cap = tonumber(ARGV[6])
if cap > 0 and owned_rooms(ARGV[3], cap) >= cap then return 'cap' end
drop_room(ARGV[2])
redis.call('HSET', KEYS[1], 'g', 0, unpack(ARGV, 8))
local ms = ttl_ms(ARGV[5], now)
redis.call('PEXPIRE', KEYS[1], ms)
index_room(ARGV[3], ARGV[2], ARGV[4], ms)
count_in(found)
return targets(ARGV[3], 'rooms', now)
