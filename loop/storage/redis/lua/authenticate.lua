-- KEYS: session, nonces. ARGV: now, '<ts>:<nonce>:<mac>', session expiry, nonce expiry.
-- Returns nil (no live session), 'replayed' (nothing touched), or {key, user mac,
-- identity}: the request recorded until its nonce expiry (when its timestamp can no
-- longer be accepted; not at all if that has passed), the session touched.
local s = check_request(KEYS[1], KEYS[2], ARGV[2], ARGV[3], ARGV[4], nil, ARGV[1])
if not s then return false end
if s == 'replayed' then return s end
return {s[1], s[3], s[4]}
