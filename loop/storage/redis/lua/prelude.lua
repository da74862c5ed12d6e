-- The prelude of every script: the shared steps, then ``now`` (ARGV[1] of every script).
-- The loader (loop/storage/redis/scripts.py) puts ``local MARGIN = <ms>`` before it.
-- Keys are those of loop/storage/redis/keys.py; ``{...}`` are Redis Cluster hash tags.
-- Before it the loader also puts ``local CLUSTER = true|false``: in a cluster a script may
-- only touch the hash slot of its KEYS, so what it would write elsewhere is handed back
-- (``foreign``) and what it would read elsewhere (push targets) is left to the caller.
local function ttl_ms(expires_at, now)
  local left = (tonumber(expires_at) - now) * 1000
  if left < 0 then left = 0 end
  return math.floor(left) + MARGIN
end

local function extend(key, ms)
  local current = redis.call('PTTL', key)
  if current == -1 or current < ms then redis.call('PEXPIRE', key, ms) end
end

local function room_key(token) return 'r:{' .. token .. '}' end

-- Writes to keys of other hash slots than KEYS[1]'s, as {command, key, args...}: in a
-- cluster the caller applies them on their nodes once the script returned them.
local FOREIGN = {}

-- The keys this script was given: in a cluster all of one slot (the caller leaves out
-- those of other slots), so a ``foreign`` write to one of them is done at once there too.
local GIVEN = {}
for _, given in ipairs(KEYS) do GIVEN[given] = true end

-- ``command`` (a Redis command, or 'extend') on ``key``, which may be in another slot: at
-- once on a single Redis, or when ``key`` is one of KEYS; otherwise handed back in a
-- cluster.
local function foreign(command, key, ...)
  if CLUSTER and not GIVEN[key] then
    local write = {command, key}
    for i = 1, select('#', ...) do write[#write + 1] = tostring(select(i, ...)) end
    FOREIGN[#FOREIGN + 1] = write
  elseif command == 'extend' then
    extend(key, ...)
  else
    redis.call(command, key, ...)
  end
end

-- The reap index a room's participants are filed in: one ``px`` on a single Redis; in a
-- cluster one of 16 buckets ``px:{0}``..``px:{f}`` (by the token's SHA1), spread over the
-- nodes, which the reapers walk in turn.
local function reap_index(token)
  if CLUSTER then return 'px:{' .. string.sub(redis.sha1hex(token), 1, 1) .. '}' end
  return 'px'
end

local function push_users(listed)
  local users = {}
  if listed then
    for user in string.gmatch(listed, '[^\n]+') do users[#users + 1] = user end
  end
  return users
end

local function push_index(user) return 'u:{' .. user .. '}:push' end

local function session_key(device) return 's:{' .. device .. '}' end

-- Merge the topic/target pairs ``ARGV[from..]`` into the push registration of the device
-- ``device`` (its session at ``key``, whose ``pu`` is ``listed``) acting as ``user``, and
-- file the device in that user's push index until ``expires_at``. A device keeps one
-- record per user it registered as.
local function register_targets(key, listed, device, user, expires_at, from, now)
  local users = push_users(listed)
  local known = false
  for _, other in ipairs(users) do known = known or other == user end
  if not known then users[#users + 1] = user end
  redis.call('HSET', key, 'pu', table.concat(users, '\n'))
  if CLUSTER then redis.call('HDEL', key, 'x') end -- maybe a new push index to keep
  for i = from, #ARGV, 2 do
    redis.call('HSET', key, 'p:' .. ARGV[i] .. ':' .. user, ARGV[i + 1])
  end
  foreign('SADD', push_index(user), device)
  foreign('extend', push_index(user), ttl_ms(expires_at, now))
end

-- Drop ``user`` from the users a device registered push targets as (its ``pu`` list).
local function drop_push_user(key, user)
  local kept = {}
  for _, other in ipairs(push_users(redis.call('HGET', key, 'pu'))) do
    if other ~= user then kept[#kept + 1] = other end
  end
  if #kept > 0 then
    redis.call('HSET', key, 'pu', table.concat(kept, '\n'))
  else
    redis.call('HDEL', key, 'pu')
  end
end

-- ``u:{user}:sessions``: the devices bound to a user, for account deletion.
local function index_session(key, user, ms)
  if not user then return end
  local index = 'u:{' .. user .. '}:sessions'
  foreign('SADD', index, string.sub(key, 4, -2))
  foreign('extend', index, ms)
end

-- In a cluster: a placeholder the caller replaces with the targets (the devices' sessions
-- live in other slots).
local function targets(user, topic, now)
  if CLUSTER then return {'\0targets', user, topic} end
  local index = push_index(user)
  local found, seen = {}, {}
  for _, device in ipairs(redis.call('SMEMBERS', index)) do
    local s = redis.call(
      'HMGET', session_key(device), 'e', 'p:calls:' .. user, 'p:rooms:' .. user)
    local target = s[3]
    if topic == 'calls' then target = s[2] end
    if not s[1] or not (s[2] or s[3]) then
      redis.call('SREM', index, device)
    elseif tonumber(s[1]) > now and target and not seen[target] then
      seen[target] = true
      found[#found + 1] = target
    end
  end
  return found
end

local function live_owner(token, now)
  local r = redis.call('HMGET', room_key(token), 'owner', 'expires_at')
  if not r[1] or tonumber(r[2]) <= now then return nil end
  return r[1]
end

local function index_room(owner, token, update_time, ms)
  local key = 'u:{' .. owner .. '}:rooms'
  foreign('ZADD', key, update_time, token)
  foreign('extend', key, ms)
end

local function touch(token, owner, update_time, expires_at, now)
  local key = room_key(token)
  local ms = ttl_ms(expires_at, now)
  redis.call('HSET', key, 'update_time', update_time, 'expires_at', expires_at)
  redis.call('PEXPIRE', key, ms)
  redis.call('PEXPIRE', key .. ':p', ms)
  index_room(owner, token, update_time, ms)
end

local function drop_room(token)
  local key = room_key(token)
  local members = {}
  for _, pid in ipairs(redis.call('HKEYS', key .. ':p')) do
    members[#members + 1] = token .. ' ' .. pid
  end
  if #members > 0 then foreign('ZREM', reap_index(token), unpack(members)) end
  redis.call('DEL', key, key .. ':p')
end

local function participant_expiry(value)
  local a = string.find(value, '|', 1, true)
  local b = string.find(value, '|', a + 1, true)
  return tonumber(string.sub(value, a + 1, b - 1)), a, b
end

local function live_participant(key, pid, now)
  local value = redis.call('HGET', key, pid)
  if not value then return nil end
  local expires_at, a, b = participant_expiry(value)
  if expires_at <= now then return nil end
  return value, a, b
end

local function log_expiry(entry)
  return tonumber(string.sub(entry, string.find(entry, '|', 1, true) + 1))
end

local now = tonumber(ARGV[1])

-- Keep the user indexes a session is filed in (the push indexes of the users it registered
-- targets as, its user's sessions index) alive at least as long as the session, which
-- expires at ``expires_at`` from ``t`` on. On a single Redis every touch extends them. In a
-- cluster, where that is another round trip, only once the session would outlive what they
-- were last extended to (its field ``x``, ``extended``), and then by a tenth of its
-- lifetime more: a busy session pays that round trip a few times in its life, not on
-- every request.
local function keep_indexes(key, pushed, user, expires_at, extended, t)
  local kept_until = tonumber(expires_at)
  if CLUSTER then
    if extended and kept_until <= tonumber(extended) then return end
    kept_until = kept_until + (kept_until - t) / 10
    redis.call('HSET', key, 'x', tostring(kept_until))
  end
  local ms = ttl_ms(kept_until, t)
  for _, pushed_as in ipairs(push_users(pushed)) do
    foreign('extend', push_index(pushed_as), ms)
  end
  if user then foreign('extend', 'u:{' .. user .. '}:sessions', ms) end
end

-- A Hawk request on the session at ``key`` (nonces at ``nonces``), at ``at`` (text):
-- nil when no live session is there; 'stale' when ``expected`` is given and the session
-- is bound to another user ('' for none); 'replayed' when ``member`` (ts:nonce:mac) is still
-- remembered, nothing touched. Otherwise the request is remembered until ``nonce_expiry``
-- (not at all if that has passed), the session (and its indexes) lives until ``expiry``
-- again, and its {key, expiry, user, identity, push users} are returned.
local function check_request(key, nonces, member, expiry, nonce_expiry, expected, at)
  local t = tonumber(at)
  local s = redis.call('HMGET', key, 'k', 'e', 'u', 'i', 'pu', 'x')
  if not s[1] or tonumber(s[2]) <= t then return nil end
  if expected and (s[3] or '') ~= expected then return 'stale' end
  if tonumber(nonce_expiry) > t then
    local seen = redis.call('ZSCORE', nonces, member)
    if seen and tonumber(seen) > t then return 'replayed' end
    redis.call('ZREMRANGEBYSCORE', nonces, '-inf', at)
    redis.call('ZADD', nonces, nonce_expiry, member)
    extend(nonces, ttl_ms(nonce_expiry, t))
  end
  redis.call('HSET', key, 'e', expiry)
  local ms = ttl_ms(expiry, t)
  redis.call('PEXPIRE', key, ms)
  keep_indexes(key, s[5], s[3], expiry, s[6], t)
  return s
end

-- A room change's signalling announcement: published once the change is made, in the
-- same round trip; an empty channel means none.
local function announce(channel, message)
  if channel and channel ~= '' then redis.call('PUBLISH', channel, message) end
end

-- Rate windows (loop/storage/quotas.py): a script given windows takes their ``rl:{key}``
-- hashes (``e`` end of the window, ``n`` requests counted in it) as its last KEYS, from
-- ``first``, and ``spec``, one ARGV "limit period limit period ..." in the same order.
-- Read once: {key, limit, period, end, count}; ``full_for`` then ``count_in`` use them.
local function windows(first, spec)
  local found, i = {}, first
  for limit, period in string.gmatch(spec or '', '(%S+) (%S+)') do
    local r = redis.call('HMGET', KEYS[i], 'e', 'n')
    local ends, hits = tonumber(r[1]), tonumber(r[2])
    found[#found + 1] = {KEYS[i], tonumber(limit), tonumber(period), ends, hits}
    i = i + 1
  end
  return found
end

-- Milliseconds until the longest-waiting full window frees, or nil when none is full. A
-- script returns this number as it is: no other script reply is an integer.
local function full_for(found)
  local wait = nil
  for _, w in ipairs(found) do
    local ends = w[4]
    if ends and ends > now and w[5] >= w[2] and (not wait or ends - now > wait) then
      wait = ends - now
    end
  end
  if wait then return math.ceil(wait * 1000) end
  return nil
end

-- Count this request in every window (a window that has ended opens anew).
local function count_in(found)
  for _, w in ipairs(found) do
    local ends, hits = w[4], w[5]
    if not ends or ends <= now then ends, hits = now + w[3], 0 end
    redis.call('HSET', w[1], 'e', tostring(ends), 'n', hits + 1)
    redis.call('PEXPIRE', w[1], ttl_ms(ends, now))
  end
end

-- The owner's live rooms, counted only when the index holds at least ``cap`` tokens (the
-- count is then exact, pruning tokens of rooms gone or reused as list_rooms does);
-- otherwise the index size, an upper bound below ``cap``.
local function owned_rooms(owner, cap)
  local index = 'u:{' .. owner .. '}:rooms'
  local size = redis.call('ZCARD', index)
  if size < cap then return size end
  local live = 0
  for _, token in ipairs(redis.call('ZRANGE', index, 0, -1)) do
    local r = redis.call('HMGET', room_key(token), 'owner', 'expires_at')
    if not r[1] or r[1] ~= owner then
      redis.call('ZREM', index, token)
    elseif tonumber(r[2]) > now then
      live = live + 1
    end
  end
  return live
end
