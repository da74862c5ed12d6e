-- KEYS: session, nonces, rate windows..., then the push index of the session's user (done
-- at once in a cluster when in the session's slot: a guest's). ARGV: now, windows spec,
-- the number n of session field/value ARGV, '1' when the session comes with its push
-- registration (else '0'), the n field/value ARGV (k, e and maybe u, i), then topic/target
-- pairs. Returns nothing, or the milliseconds a full window still lasts.
local found = windows(3, ARGV[2])
local full = full_for(found)
if full then return full end
local last = 4 + tonumber(ARGV[3])
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[1], unpack(ARGV, 5, last))
local s = redis.call('HMGET', KEYS[1], 'e', 'u')
redis.call('PEXPIRE', KEYS[1], ttl_ms(s[1], now))
index_session(KEYS[1], s[2], ttl_ms(s[1], now))
if ARGV[4] == '1' then
  local device = string.sub(KEYS[1], 4, -2)
  register_targets(KEYS[1], nil, device, s[2] or device, s[1], last + 1, now)
end
count_in(found)
