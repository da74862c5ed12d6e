-- KEYS: url, owner's index, rate. ARGV: now, token, timestamp, expires, json, limit, period.
local rate = redis.call('HMGET', KEYS[3], 'e', 'n')
local window, hits = tonumber(rate[1]), tonumber(rate[2])
if not window or window <= now then window, hits = now + tonumber(ARGV[7]), 0 end
if hits >= tonumber(ARGV[6]) then return {'limited', tostring(window - now)} end
redis.call('HSET', KEYS[3], 'e', tostring(window), 'n', hits + 1)
redis.call('PEXPIRE', KEYS[3], ttl_ms(window, now))
local record = cjson.decode(ARGV[5])
redis.call('HSET', KEYS[1], 'u', record['user'], 'e', ARGV[4], 'd', ARGV[5])
local ms = ttl_ms(ARGV[4], now)
redis.call('PEXPIRE', KEYS[1], ms)
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
extend(KEYS[2], ms)
return 'ok'
