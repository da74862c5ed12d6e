-- Cluster only: forget_push_target on one device's session. KEYS: session. ARGV: now,
-- user, target. Returns {registrations removed, 1 if the device keeps none for the user}.
local user, removed = ARGV[2], 0
local fields = {'p:calls:' .. user, 'p:rooms:' .. user}
local s = redis.call('HMGET', KEYS[1], fields[1], fields[2])
local kept = 0
for i = 1, 2 do
  if s[i] == ARGV[3] then
    redis.call('HDEL', KEYS[1], fields[i])
    removed = removed + 1
  elseif s[i] then
    kept = kept + 1
  end
end
if kept == 0 then drop_push_user(KEYS[1], user) end
if kept == 0 then return {removed, 1} end
return {removed, 0}
