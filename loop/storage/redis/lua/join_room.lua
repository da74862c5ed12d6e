-- KEYS: room, participants, (px, unused), rate windows... ARGV: now, token, generation,
-- participant id, its expiry, its JSON, update_time, room expires_at, windows spec[,
-- session_id JSON, api_key JSON]. Returns the milliseconds a full window still lasts, 'room', 'conflict'
-- or {owner, its rooms targets}.
local found = windows(4, ARGV[9])
local full = full_for(found)
if full then return full end
local r = redis.call('HMGET', KEYS[1], 'owner', 'expires_at', 'g')
if not r[1] or tonumber(r[2]) <= now then return 'room' end
if r[3] ~= ARGV[3] then return 'conflict' end
local seq = redis.call('HINCRBY', KEYS[1], 'g', 1)
redis.call('HSET', KEYS[2], ARGV[4], seq .. '|' .. ARGV[5] .. '|' .. ARGV[6])
foreign('ZADD', reap_index(ARGV[2]), ARGV[5], ARGV[2] .. ' ' .. ARGV[4])
if ARGV[10] then redis.call('HSET', KEYS[1], 'session_id', ARGV[10], 'api_key', ARGV[11]) end
touch(ARGV[2], r[1], ARGV[7], ARGV[8], now)
count_in(found)
return {r[1], targets(r[1], 'rooms', now)}
