-- KEYS: oauth. ARGV: now. Returns {state, its expiry, token, its expiry}.
return redis.call('HMGET', KEYS[1], 'st', 'se', 't', 'te')
