-- KEYS: url, owner's index. ARGV: now, user, token, then ('put', timestamp, expires, json)
-- or ('delete'). Returns 'ok', 'notfound' or 'owner'.
local u = redis.call('HMGET', KEYS[1], 'u', 'e')
if not u[1] or tonumber(u[2]) <= now then return 'notfound' end
if u[1] ~= ARGV[2] then return 'owner' end
if ARGV[4] == 'delete' then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[3])
  return 'ok'
end
redis.call('HSET', KEYS[1], 'e', ARGV[6], 'd', ARGV[7])
local ms = ttl_ms(ARGV[6], now)
redis.call('PEXPIRE', KEYS[1], ms)
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[3])
extend(KEYS[2], ms)
return 'ok'
