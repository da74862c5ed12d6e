-- Cluster only: drop a room's due participants (reap_due found them). KEYS: room,
-- participants. ARGV: now, update_time, room expires_at, participant ids...
-- Returns {owner, its rooms targets} when a participant left a live room, else nil.
local token = string.sub(KEYS[1], 4, -2)
local dropped = false
for i = 4, #ARGV do
  local value = redis.call('HGET', KEYS[2], ARGV[i])
  if value and participant_expiry(value) <= now then
    redis.call('HDEL', KEYS[2], ARGV[i])
    dropped = true
  end
end
if not dropped then return false end
local owner = live_owner(token, now)
if not owner then return false end
touch(token, owner, ARGV[2], ARGV[3], now)
return {owner, targets(owner, 'rooms', now)}
