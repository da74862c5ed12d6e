-- KEYS: the user's push index. ARGV: now, user, topic.
return targets(ARGV[2], ARGV[3], now)
