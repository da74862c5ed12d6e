-- KEYS: url (then the owner's index, unused). ARGV: now, user, token, then ('put', timestamp, expires, json)
-- or ('delete'). Returns 'ok', 'notfound' or 'owner'.
local u = redis.call('HMGET', KEYS[1], 'u', 'e')
if not u[1] or tonumber(u[2]) <= now then return 'notfound' end
if u[1] ~= ARGV[2] then return 'owner' end
if ARGV[4] == 'delete' then
  redis.call('DEL', KEYS[1])
  foreign('ZREM', 'u:{' .. ARGV[2] .. '}:urls', ARGV[3])
  return 'ok'
end
redis.call('HSET', KEYS[1], 'e', ARGV[6], 'd', ARGV[7])
local ms = ttl_ms(ARGV[6], now)
redis.call('PEXPIRE', KEYS[1], ms)
foreign('ZADD', 'u:{' .. ARGV[2] .. '}:urls', ARGV[5], ARGV[3])
foreign('extend', 'u:{' .. ARGV[2] .. '}:urls', ms)
return 'ok'
