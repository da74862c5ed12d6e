-- KEYS: the owner's rooms index, the owner's deletion log. ARGV: now, owner, min
-- update_time ('-inf' for all), '1' to read the deletion log.
-- Returns {{room fields, participants}..., deletion log}; index entries of rooms gone or
-- reused by another owner are pruned.
local rooms = {}
for _, token in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[3], '+inf')) do
  local key = room_key(token)
  local r = redis.call('HMGET', key, 'owner', 'expires_at')
  if not r[1] or r[1] ~= ARGV[2] then
    redis.call('ZREM', KEYS[1], token)
  elseif tonumber(r[2]) > now then
    rooms[#rooms + 1] = {redis.call('HGETALL', key), redis.call('HGETALL', key .. ':p')}
  end
end
local log = {}
if ARGV[4] == '1' then log = redis.call('HGETALL', KEYS[2]) end
return {rooms, log}
