-- KEYS: the user's push index. ARGV: now, user, target (canonical JSON).
-- Clears the target from both topics of every device indexed for the user; a device left
-- with no target for that user leaves the index and its ``pu`` list (as unregister_push).
-- Returns how many registrations were removed.
local user, removed = ARGV[2], 0
for _, device in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = session_key(device)
  local fields = {'p:calls:' .. user, 'p:rooms:' .. user}
  local s = redis.call('HMGET', key, fields[1], fields[2])
  local kept = 0
  for i = 1, 2 do
    if s[i] == ARGV[3] then
      redis.call('HDEL', key, fields[i])
      removed = removed + 1
    elseif s[i] then
      kept = kept + 1
    end
  end
  if kept == 0 then
    redis.call('SREM', KEYS[1], device)
    drop_push_user(key, user)
  end
end
return removed
