-- KEYS: a call URL or a call. ARGV: now. Returns the live record's JSON or nil.
local u = redis.call('HMGET', KEYS[1], 'e', 'd')
if not u[1] or tonumber(u[1]) <= now then return false end
return u[2]
