-- KEYS: px. ARGV: now, limit, update_time, room expires_at.
-- Returns {{owner, targets...}...}, one per touched live room. Each due entry is removed
-- from px by the script that reads it, so concurrent reapers never share one.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
if #due == 0 then return {} end
redis.call('ZREM', KEYS[1], unpack(due))
local seen, order = {}, {}
for _, member in ipairs(due) do
  local cut = string.find(member, ' ', 1, true)
  local token, pid = string.sub(member, 1, cut - 1), string.sub(member, cut + 1)
  local key = room_key(token) .. ':p'
  local value = redis.call('HGET', key, pid)
  if value and participant_expiry(value) <= now then
    redis.call('HDEL', key, pid)
    if not seen[token] then
      seen[token] = true
      order[#order + 1] = token
    end
  end
end
local changes = {}
for _, token in ipairs(order) do
  local owner = live_owner(token, now)
  if owner then
    touch(token, owner, ARGV[3], ARGV[4], now)
    changes[#changes + 1] = {owner, targets(owner, 'rooms', now)}
  end
end
return changes
