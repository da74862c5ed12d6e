-- Sessions and push registrations: every device's targets filed under the user, then
-- every session bound to the user and the caller's own, with their nonces and OAuth record.
for _, device in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local key = session_key(device)
  redis.call('HDEL', key, 'p:calls:' .. user, 'p:rooms:' .. user)
  drop_push_user(key, user)
end
local devices = redis.call('SMEMBERS', KEYS[1])
devices[#devices + 1] = ARGV[3]
for _, device in ipairs(devices) do
  local key = session_key(device)
  for _, other in ipairs(push_users(redis.call('HGET', key, 'pu'))) do
    redis.call('SREM', push_index(other), device)
  end
  redis.call('DEL', key, key .. ':n', key .. ':o')
end
redis.call('DEL', KEYS[1], KEYS[2])
