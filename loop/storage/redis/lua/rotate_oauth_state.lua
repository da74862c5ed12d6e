-- KEYS: oauth. ARGV: now, new state, its expiry. Returns the previous live state or nil.
local o = redis.call('HMGET', KEYS[1], 'st', 'se')
if not o[1] or tonumber(o[2]) <= now then return false end
redis.call('HSET', KEYS[1], 'st', ARGV[2], 'se', ARGV[3])
extend(KEYS[1], ttl_ms(ARGV[3], now))
return o[1]
