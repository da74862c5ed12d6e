-- KEYS: room, participants (then px, unused). ARGV: now, token, participant id, update_time,
-- room expires_at, announcement channel, announcement message. Returns 'room', 'participant' or {owner, its rooms targets}.
local owner = live_owner(ARGV[2], now)
if not owner then return 'room' end
if not live_participant(KEYS[2], ARGV[3], now) then return 'participant' end
redis.call('HDEL', KEYS[2], ARGV[3])
foreign('ZREM', reap_index(ARGV[2]), ARGV[2] .. ' ' .. ARGV[3])
touch(ARGV[2], owner, ARGV[4], ARGV[5], now)
announce(ARGV[6], ARGV[7])
return {owner, targets(owner, 'rooms', now)}
