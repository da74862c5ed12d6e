-- KEYS: url, (the owner's index, unused), rate windows... ARGV: now, token, timestamp,
-- expires, json, windows spec. Returns 'ok', or the milliseconds a full window still lasts.
local found = windows(3, ARGV[6])
local full = full_for(found)
if full then return full end
local record = cjson.decode(ARGV[5])
redis.call('HSET', KEYS[1], 'u', record['user'], 'e', ARGV[4], 'd', ARGV[5])
local ms = ttl_ms(ARGV[4], now)
redis.call('PEXPIRE', KEYS[1], ms)
local index = 'u:{' .. record['user'] .. '}:urls'
foreign('ZADD', index, ARGV[3], ARGV[2])
foreign('extend', index, ms)
count_in(found)
return 'ok'
