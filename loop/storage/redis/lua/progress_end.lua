-- The tail of every call progress script: publish "<markers>|<reason>" on the channel
-- when the markers changed, and return {before, after, reason}.
local after = redis.call('SCARD', KEYS[2])
local reason = false
if after == 0 then reason = redis.call('HGET', KEYS[1], 'r') end
if after ~= before then redis.call('PUBLISH', ARGV[2], after .. '|' .. (reason or '')) end
return {before, after, reason}
