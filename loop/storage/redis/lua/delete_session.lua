-- KEYS: session, nonces. ARGV: (unused now), device.
for _, user in ipairs(push_users(redis.call('HGET', KEYS[1], 'pu'))) do
  foreign('SREM', push_index(user), ARGV[2])
end
redis.call('DEL', KEYS[1], KEYS[2])
