-- The head of every call progress script. KEYS: call, markers. ARGV: now, channel, then
-- the step's own. Returns nil when the call is not live; sets ``before``.
local function allowed(when, count) return string.find(when, ',' .. count .. ',', 1, true) end
local function terminate(reason)
  redis.call('DEL', KEYS[2])
  if reason == '' then redis.call('HDEL', KEYS[1], 'r')
  else redis.call('HSET', KEYS[1], 'r', reason) end
end
local e = redis.call('HGET', KEYS[1], 'e')
if not e or tonumber(e) <= now then return false end
local before = redis.call('SCARD', KEYS[2])
