-- KEYS: session (then the user's push index, unused). ARGV: (unused now), device, user.
redis.call('HDEL', KEYS[1], 'p:calls:' .. ARGV[3], 'p:rooms:' .. ARGV[3])
foreign('SREM', push_index(ARGV[3]), ARGV[2])
drop_push_user(KEYS[1], ARGV[3])
