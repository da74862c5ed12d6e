-- KEYS: session, the user's push index. ARGV: (unused now), device, user.
redis.call('HDEL', KEYS[1], 'p:calls:' .. ARGV[3], 'p:rooms:' .. ARGV[3])
redis.call('SREM', KEYS[2], ARGV[2])
drop_push_user(KEYS[1], ARGV[3])
