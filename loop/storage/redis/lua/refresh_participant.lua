-- KEYS: room, participants (then px, unused). ARGV: now, token, participant id, new expiry.
-- Returns 'room', 'participant' or 'ok'.
if not live_owner(ARGV[2], now) then return 'room' end
local value, a, b = live_participant(KEYS[2], ARGV[3], now)
if not value then return 'participant' end
redis.call('HSET', KEYS[2], ARGV[3], string.sub(value, 1, a) .. ARGV[4] .. string.sub(value, b))
foreign('ZADD', reap_index(ARGV[2]), ARGV[4], ARGV[2] .. ' ' .. ARGV[3])
return 'ok'
