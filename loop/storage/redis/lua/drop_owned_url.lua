-- Cluster only: an account deletion's step on one of the user's call URLs. KEYS: url.
-- ARGV: now (unused), user.
if redis.call('HGET', KEYS[1], 'u') == ARGV[2] then redis.call('DEL', KEYS[1]) end
