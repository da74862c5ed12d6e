-- KEYS: oauth. ARGV: now, token, its expiry.
redis.call('HSET', KEYS[1], 't', ARGV[2], 'te', ARGV[3])
extend(KEYS[1], ttl_ms(ARGV[3], now))
