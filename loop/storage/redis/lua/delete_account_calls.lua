-- Calls: the user's call URLs and the calls filed under the user, with their indexes.
for _, token in ipairs(redis.call('ZRANGE', 'u:{' .. user .. '}:urls', 0, -1)) do
  local key = 'cu:{' .. token .. '}'
  if redis.call('HGET', key, 'u') == user then redis.call('DEL', key) end
end
for _, id in ipairs(redis.call('ZRANGE', 'u:{' .. user .. '}:calls', 0, -1)) do
  redis.call('DEL', 'c:{' .. id .. '}', 'c:{' .. id .. '}:m')
end
redis.call('DEL', 'u:{' .. user .. '}:urls', 'u:{' .. user .. '}:calls')
