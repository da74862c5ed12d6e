-- Cluster only: a call as list_calls weighs it. KEYS: call, markers. ARGV: now (unused).
-- Returns {expiry, JSON, markers count} (nil fields for a call gone).
local c = redis.call('HMGET', KEYS[1], 'e', 'd')
return {c[1], c[2], redis.call('SCARD', KEYS[2])}
