-- KEYS: oauth. ARGV: now, state, its expiry. Returns the live state.
local o = redis.call('HMGET', KEYS[1], 'st', 'se')
if o[1] and tonumber(o[2]) > now then return o[1] end
redis.call('HSET', KEYS[1], 'st', ARGV[2], 'se', ARGV[3])
extend(KEYS[1], ttl_ms(ARGV[3], now))
return ARGV[2]
