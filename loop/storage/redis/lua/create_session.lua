-- KEYS: session, nonces. ARGV: now, field/value pairs (k, e and maybe u, i).
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
local s = redis.call('HMGET', KEYS[1], 'e', 'u')
redis.call('PEXPIRE', KEYS[1], ttl_ms(s[1], now))
index_session(KEYS[1], s[2], ttl_ms(s[1], now))
