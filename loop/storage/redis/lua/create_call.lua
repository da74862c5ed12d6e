-- KEYS: call, markers, rate windows... ARGV: now, call id, timestamp, expiry, json,
-- reachable only (1/0), windows spec, callees... Returns {filed callees, their calls push
-- targets}, or the milliseconds a full window still lasts. An attempt counts even when
-- no callee is reachable.
local found = windows(3, ARGV[7])
local full = full_for(found)
if full then return full end
count_in(found)
local chosen, found, seen = {}, {}, {}
for i = 8, #ARGV do
  local user = ARGV[i]
  local listed = targets(user, 'calls', now)
  if (#listed > 0 or ARGV[6] == '0') and not seen['u' .. user] then
    seen['u' .. user] = true
    chosen[#chosen + 1] = user
    for _, target in ipairs(listed) do
      if not seen[target] then seen[target] = true; found[#found + 1] = target end
    end
  end
end
if #chosen == 0 then return {{}, {}} end
local ms = ttl_ms(ARGV[4], now)
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[1], 'e', ARGV[4], 'd', ARGV[5], 'n:caller', 0, 'n:callee', 0)
redis.call('SADD', KEYS[2], 'init')
redis.call('PEXPIRE', KEYS[1], ms)
redis.call('PEXPIRE', KEYS[2], ms)
for _, user in ipairs(chosen) do
  local index = 'u:{' .. user .. '}:calls'
  foreign('ZADD', index, ARGV[3], ARGV[2])
  foreign('extend', index, ms)
end
return {chosen, found}
