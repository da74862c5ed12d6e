-- A signalling member joins its channel: drop the lapsed members and any other member of
-- the same participant, then list it.
-- KEYS: members. ARGV: now, peer id, participant, entry JSON, ttl ms.
-- Returns {peers' entries, replaced entries} (JSON strings).
local peers, replaced = {}, {}
local listed = redis.call('HGETALL', KEYS[1])
for i = 1, #listed, 2 do
  local entry = cjson.decode(listed[i + 1])
  if tonumber(entry['e']) <= now then
    redis.call('HDEL', KEYS[1], listed[i])
  elseif entry['m'][2] == ARGV[3] then
    redis.call('HDEL', KEYS[1], listed[i])
    replaced[#replaced + 1] = listed[i + 1]
  else
    peers[#peers + 1] = listed[i + 1]
  end
end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[4])
extend(KEYS[1], tonumber(ARGV[5]))
return {peers, replaced}
