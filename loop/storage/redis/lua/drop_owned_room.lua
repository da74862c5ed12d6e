-- Cluster only: one room of a deletion (delete_rooms, or an account's). KEYS: room,
-- participants. ARGV: now, owner, mode ('strict': the room must be live and the owner's,
-- else 'room'/'owner'; 'live': only if live and the owner's; 'any': if the owner's, live or
-- not), announcement channel, announcement message. Returns 'dropped' or 'kept'.
local token = string.sub(KEYS[1], 4, -2)
local owner = live_owner(token, now)
if ARGV[3] == 'any' then owner = redis.call('HGET', KEYS[1], 'owner') end
if ARGV[3] == 'strict' and not owner then return 'room' end
if ARGV[3] == 'strict' and owner ~= ARGV[2] then return 'owner' end
if owner ~= ARGV[2] then return 'kept' end
drop_room(token)
announce(ARGV[4], ARGV[5])
return 'dropped'
