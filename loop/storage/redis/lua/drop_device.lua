-- Cluster only: an account deletion's step on a session of the user (or the caller's):
-- the session, its nonces and OAuth record, and its devices' entries in the push indexes
-- of the users it registered as. KEYS: session. ARGV: now (unused), device.
for _, other in ipairs(push_users(redis.call('HGET', KEYS[1], 'pu'))) do
  foreign('SREM', push_index(other), ARGV[2])
end
redis.call('DEL', KEYS[1], KEYS[1] .. ':n', KEYS[1] .. ':o')
