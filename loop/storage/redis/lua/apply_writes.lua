-- Cluster only: the writes a script handed back for keys of another hash slot, applied
-- on that slot's node. KEYS: keys of one slot. ARGV: now (unused), then per write: its
-- command ('extend' or a Redis command), its key's index in KEYS, its argument count and
-- its arguments.
local i = 2
while i <= #ARGV do
  local command, key, count = ARGV[i], KEYS[tonumber(ARGV[i + 1])], tonumber(ARGV[i + 2])
  local args = {}
  for j = 1, count do args[j] = ARGV[i + 2 + j] end
  if command == 'extend' then
    extend(key, tonumber(args[1]))
  else
    redis.call(command, key, unpack(args))
  end
  i = i + 3 + count
end
