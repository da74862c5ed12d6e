-- KEYS: session, nonces, rate windows... ARGV: now, windows spec, field/value pairs (k, e
-- and maybe u, i). Returns nothing, or the milliseconds a full window still lasts.
local found = windows(3, ARGV[2])
local full = full_for(found)
if full then return full end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
local s = redis.call('HMGET', KEYS[1], 'e', 'u')
redis.call('PEXPIRE', KEYS[1], ttl_ms(s[1], now))
index_session(KEYS[1], s[2], ttl_ms(s[1], now))
count_in(found)
