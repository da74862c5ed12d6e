-- Keep the given signalling members (those still listed) alive until the new expiry.
-- KEYS: members. ARGV: now, expiry, ttl ms, peer ids...
for i = 4, #ARGV do
  local raw = redis.call('HGET', KEYS[1], ARGV[i])
  if raw then
    local entry = cjson.decode(raw)
    entry['e'] = ARGV[2]
    redis.call('HSET', KEYS[1], ARGV[i], cjson.encode(entry))
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then extend(KEYS[1], tonumber(ARGV[3])) end
