-- Rooms: the ones the user still owns, with their participants, the rooms index and the
-- deletion log.
for _, token in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
  if redis.call('HGET', room_key(token), 'owner') == user then drop_room(token) end
end
redis.call('DEL', KEYS[3], KEYS[4])
