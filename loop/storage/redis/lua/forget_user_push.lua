-- Cluster only: an account deletion's step on a device that registered push targets as
-- the user. KEYS: session. ARGV: now (unused), user.
redis.call('HDEL', KEYS[1], 'p:calls:' .. ARGV[2], 'p:rooms:' .. ARGV[2])
drop_push_user(KEYS[1], ARGV[2])
