-- KEYS: the owner's deletion log, the owner's rooms index. ARGV: now, owner, log expiry,
-- strict ('1': the single token must be deletable, else 'room'/'owner'), tokens...
-- Returns {deleted tokens, targets}.
local deleted = {}
for i = 5, #ARGV do
  local token = ARGV[i]
  local owner = live_owner(token, now)
  if ARGV[4] == '1' and not owner then return 'room' end
  if ARGV[4] == '1' and owner ~= ARGV[2] then return 'owner' end
  if owner == ARGV[2] then
    drop_room(token)
    redis.call('ZREM', KEYS[2], token)
    local old = redis.call('HGET', KEYS[1], token)
    if not old or log_expiry(old) <= now then
      redis.call('HSET', KEYS[1], token, ARGV[1] .. '|' .. ARGV[3])
    end
    deleted[#deleted + 1] = token
  end
end
if #deleted > 0 then
  local log = redis.call('HGETALL', KEYS[1])
  for i = 1, #log, 2 do
    if log_expiry(log[i + 1]) <= now then redis.call('HDEL', KEYS[1], log[i]) end
  end
  extend(KEYS[1], ttl_ms(ARGV[3], now))
end
return {deleted, targets(ARGV[2], 'rooms', now)}
