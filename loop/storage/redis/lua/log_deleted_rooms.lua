-- Cluster only: the owner's side of deleting rooms (drop_owned_room dropped them). KEYS:
-- the owner's deletion log, the owner's rooms index. ARGV: now, log expiry, tokens...
for i = 3, #ARGV do
  local token = ARGV[i]
  redis.call('ZREM', KEYS[2], token)
  local old = redis.call('HGET', KEYS[1], token)
  if not old or log_expiry(old) <= now then
    redis.call('HSET', KEYS[1], token, ARGV[1] .. '|' .. ARGV[2])
  end
end
local log = redis.call('HGETALL', KEYS[1])
for i = 1, #log, 2 do
  if log_expiry(log[i + 1]) <= now then redis.call('HDEL', KEYS[1], log[i]) end
end
extend(KEYS[1], ttl_ms(ARGV[2], now))
