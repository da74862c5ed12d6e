-- KEYS: session. ARGV: now. Reads only: a request is accepted (its nonce recorded, its
-- session touched) by accept_request.lua once its MAC has been verified.
-- Returns nil (no live session) or {key, user mac, identity}.
local s = redis.call('HMGET', KEYS[1], 'k', 'e', 'u', 'i')
if not s[1] or tonumber(s[2]) <= now then return false end
return {s[1], s[3], s[4]}
