"""The Lua scripts behind every :class:`~loop.storage.redis.RedisStorage` method.

Each public storage method is one ``EVALSHA`` of one of these scripts, so a request costs
one round trip and the conditional ones (owner checks, join generations, nonces, reaping)
are atomic without ``WATCH`` retries. Every script is :data:`PRELUDE` plus its body, so
the helpers are shared without Redis Functions (which need Redis 7 and a ``FUNCTION
LOAD`` step at deployment).

Key layout (``{...}`` are Redis Cluster hash tags, so a record and its satellites share a
slot):

* ``s:{device}`` hash: ``k`` Hawk key, ``u`` user mac, ``i`` encrypted identity, ``e``
  expiry, ``p:<topic>:<user>`` push target (canonical JSON) registered while the session
  acted as ``<user>`` (as the original's ``spurls.<user>.<device>``), ``pu`` those users,
  newline-separated; ``s:{device}:n`` zset of nonces scored by their expiry;
* ``u:{user}:push`` set of devices with push targets; ``u:{user}:sessions`` set of the
  devices bound to the user (account deletion); ``u:{user}:rooms`` zset of room
  tokens scored by ``update_time``; ``u:{user}:deleted`` hash token -> ``"at|expires"``;
* ``r:{token}`` hash: one JSON value per :class:`~loop.storage.Room` field (``owner`` raw)
  plus ``g``, the join generation; ``r:{token}:p`` hash participant id ->
  ``"seq|expires_at|json"`` (``seq`` orders joins);
* ``px`` zset ``"token participant"`` scored by expiry, what the reapers walk;
* ``secrets`` hash, ``heartbeat`` string.

Times arrive as decimal strings from Python and are compared with ``tonumber``; they are
stored as received so no precision is lost in Lua's number formatting. Native TTLs are
computed from the caller's ``now`` plus :data:`MARGIN_MS`: they only reclaim memory,
visibility is always decided by the stored expiry.
"""

from __future__ import annotations

import dataclasses
import hashlib

MARGIN_MS = 60_000
"""How long a record outlives its expiry before Redis reclaims it."""

PRELUDE = f"""
local MARGIN = {MARGIN_MS}

local function ttl_ms(expires_at, now)
  local left = (tonumber(expires_at) - now) * 1000
  if left < 0 then left = 0 end
  return math.floor(left) + MARGIN
end

local function extend(key, ms)
  local current = redis.call('PTTL', key)
  if current == -1 or current < ms then redis.call('PEXPIRE', key, ms) end
end

local function room_key(token) return 'r:{{' .. token .. '}}' end

local function push_users(listed)
  local users = {{}}
  if listed then
    for user in string.gmatch(listed, '[^\\n]+') do users[#users + 1] = user end
  end
  return users
end

local function push_index(user) return 'u:{{' .. user .. '}}:push' end

-- ``u:{{user}}:sessions``: the devices bound to a user, for account deletion.
local function index_session(session_key, user, ms)
  if not user then return end
  local index = 'u:{{' .. user .. '}}:sessions'
  redis.call('SADD', index, string.sub(session_key, 4, -2))
  extend(index, ms)
end

local function targets(user, topic, now)
  local index = push_index(user)
  local found, seen = {{}}, {{}}
  for _, device in ipairs(redis.call('SMEMBERS', index)) do
    local s = redis.call(
      'HMGET', 's:{{' .. device .. '}}', 'e', 'p:calls:' .. user, 'p:rooms:' .. user)
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
  local key = 'u:{{' .. owner .. '}}:rooms'
  redis.call('ZADD', key, update_time, token)
  extend(key, ms)
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
  local members = {{}}
  for _, pid in ipairs(redis.call('HKEYS', key .. ':p')) do
    members[#members + 1] = token .. ' ' .. pid
  end
  if #members > 0 then redis.call('ZREM', 'px', unpack(members)) end
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
"""


@dataclasses.dataclass(frozen=True, slots=True)
class Script:
    """A script's full source and the SHA1 that ``EVALSHA`` names it by."""

    name: str
    source: str
    sha: str


def _script(name: str, body: str) -> Script:
    source = PRELUDE + body
    return Script(name, source, hashlib.sha1(source.encode()).hexdigest())


# KEYS: session, nonces. ARGV: now, field/value pairs (k, e and maybe u, i).
CREATE_SESSION = _script(
    "create_session",
    """
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
local s = redis.call('HMGET', KEYS[1], 'e', 'u')
redis.call('PEXPIRE', KEYS[1], ttl_ms(s[1], now))
index_session(KEYS[1], s[2], ttl_ms(s[1], now))
""",
)

# KEYS: session, nonces. ARGV: now, nonce, session expiry, nonce expiry.
# Returns nil (no live session), 'replayed', or {key, user mac, identity}.
AUTHENTICATE = _script(
    "authenticate",
    """
local s = redis.call('HMGET', KEYS[1], 'k', 'e', 'u', 'i', 'pu')
if not s[1] or tonumber(s[2]) <= now then return false end
local seen = redis.call('ZSCORE', KEYS[2], ARGV[2])
if seen and tonumber(seen) > now then return 'replayed' end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[2])
extend(KEYS[2], ttl_ms(ARGV[4], now))
redis.call('HSET', KEYS[1], 'e', ARGV[3])
local ms = ttl_ms(ARGV[3], now)
redis.call('PEXPIRE', KEYS[1], ms)
for _, user in ipairs(push_users(s[5])) do extend(push_index(user), ms) end
if s[3] then extend('u:{' .. s[3] .. '}:sessions', ms) end
return {s[1], s[3], s[4]}
""",
)

# KEYS: session. ARGV: now, session expiry, user mac, identity.
BIND_IDENTITY = _script(
    "bind_identity",
    """
local s = redis.call('HMGET', KEYS[1], 'k', 'e', 'pu')
if not s[1] or tonumber(s[2]) <= now then return 0 end
redis.call('HSET', KEYS[1], 'e', ARGV[2], 'u', ARGV[3], 'i', ARGV[4])
local ms = ttl_ms(ARGV[2], now)
redis.call('PEXPIRE', KEYS[1], ms)
for _, user in ipairs(push_users(s[3])) do extend(push_index(user), ms) end
index_session(KEYS[1], ARGV[3], ms)
return 1
""",
)

# KEYS: session, nonces. ARGV: (unused now), device.
DELETE_SESSION = _script(
    "delete_session",
    """
for _, user in ipairs(push_users(redis.call('HGET', KEYS[1], 'pu'))) do
  redis.call('SREM', push_index(user), ARGV[2])
end
redis.call('DEL', KEYS[1], KEYS[2])
""",
)

# KEYS: session, the user's push index. ARGV: now, device, user, default expiry,
# then topic/target pairs. A device keeps one record per user it registered as.
REGISTER_PUSH = _script(
    "register_push",
    """
local s = redis.call('HMGET', KEYS[1], 'e', 'pu')
local expires_at = s[1]
if not expires_at then
  expires_at = ARGV[4]
  redis.call('HSET', KEYS[1], 'e', expires_at)
  redis.call('PEXPIRE', KEYS[1], ttl_ms(expires_at, now))
end
local users = push_users(s[2])
local known = false
for _, user in ipairs(users) do known = known or user == ARGV[3] end
if not known then users[#users + 1] = ARGV[3] end
redis.call('HSET', KEYS[1], 'pu', table.concat(users, '\\n'))
for i = 5, #ARGV, 2 do
  redis.call('HSET', KEYS[1], 'p:' .. ARGV[i] .. ':' .. ARGV[3], ARGV[i + 1])
end
redis.call('SADD', KEYS[2], ARGV[2])
extend(KEYS[2], ttl_ms(expires_at, now))
""",
)

# KEYS: session, the user's push index. ARGV: (unused now), device, user.
UNREGISTER_PUSH = _script(
    "unregister_push",
    """
redis.call('HDEL', KEYS[1], 'p:calls:' .. ARGV[3], 'p:rooms:' .. ARGV[3])
redis.call('SREM', KEYS[2], ARGV[2])
local users = {}
for _, user in ipairs(push_users(redis.call('HGET', KEYS[1], 'pu'))) do
  if user ~= ARGV[3] then users[#users + 1] = user end
end
if #users > 0 then
  redis.call('HSET', KEYS[1], 'pu', table.concat(users, '\\n'))
else
  redis.call('HDEL', KEYS[1], 'pu')
end
""",
)

# KEYS: the user's push index. ARGV: now, user, topic.
PUSH_TARGETS = _script("push_targets", "return targets(ARGV[2], ARGV[3], now)")

# KEYS: room, participants. ARGV: now, token, owner, update_time, expires_at, then
# field/value pairs. Returns the owner's rooms targets.
CREATE_ROOM = _script(
    "create_room",
    """
drop_room(ARGV[2])
redis.call('HSET', KEYS[1], 'g', 0, unpack(ARGV, 6))
local ms = ttl_ms(ARGV[5], now)
redis.call('PEXPIRE', KEYS[1], ms)
index_room(ARGV[3], ARGV[2], ARGV[4], ms)
return targets(ARGV[3], 'rooms', now)
""",
)

# KEYS: room, participants. ARGV: now. Visibility is checked in Python.
GET_ROOM = _script(
    "get_room",
    "return {redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2])}",
)

# KEYS: room, participants. ARGV: now, token, owner, update_time, expires_at, then
# field/value pairs. Returns 'room', 'owner' or {room fields, targets}.
UPDATE_ROOM = _script(
    "update_room",
    """
local owner = live_owner(ARGV[2], now)
if not owner then return 'room' end
if owner ~= ARGV[3] then return 'owner' end
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
local expires_at = ARGV[5]
if expires_at == '' then expires_at = redis.call('HGET', KEYS[1], 'expires_at') end
local ms = ttl_ms(expires_at, now)
redis.call('PEXPIRE', KEYS[1], ms)
redis.call('PEXPIRE', KEYS[2], ms)
index_room(owner, ARGV[2], ARGV[4], ms)
return {redis.call('HGETALL', KEYS[1]), targets(owner, 'rooms', now)}
""",
)

# KEYS: the owner's deletion log, the owner's rooms index. ARGV: now, owner, log expiry,
# strict ('1': the single token must be deletable, else 'room'/'owner'), tokens...
# Returns {deleted tokens, targets}.
DELETE_ROOMS = _script(
    "delete_rooms",
    """
local deleted = {}
for i = 5, #ARGV do
  local token = ARGV[i]
  local owner = live_owner(token, now)
  if ARGV[4] == '1' and not owner then return 'room' end
  if ARGV[4] == '1' and owner ~= ARGV[2] then return 'owner' end
  if owner == ARGV[2] then
    drop_room(token)
    redis.call('ZREM', KEYS[2], token)
    local old = redis.call('HGET', KEYS[1], token)
    if not old or log_expiry(old) <= now then
      redis.call('HSET', KEYS[1], token, ARGV[1] .. '|' .. ARGV[3])
    end
    deleted[#deleted + 1] = token
  end
end
if #deleted > 0 then
  local log = redis.call('HGETALL', KEYS[1])
  for i = 1, #log, 2 do
    if log_expiry(log[i + 1]) <= now then redis.call('HDEL', KEYS[1], log[i]) end
  end
  extend(KEYS[1], ttl_ms(ARGV[3], now))
end
return {deleted, targets(ARGV[2], 'rooms', now)}
""",
)

# KEYS: the owner's rooms index, the owner's deletion log. ARGV: now, owner, min
# update_time ('-inf' for all), '1' to read the deletion log.
# Returns {{room fields, participants}..., deletion log}; index entries of rooms gone or
# reused by another owner are pruned.
LIST_ROOMS = _script(
    "list_rooms",
    """
local rooms = {}
for _, token in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[3], '+inf')) do
  local key = room_key(token)
  local r = redis.call('HMGET', key, 'owner', 'expires_at')
  if not r[1] or r[1] ~= ARGV[2] then
    redis.call('ZREM', KEYS[1], token)
  elseif tonumber(r[2]) > now then
    rooms[#rooms + 1] = {redis.call('HGETALL', key), redis.call('HGETALL', key .. ':p')}
  end
end
local log = {}
if ARGV[4] == '1' then log = redis.call('HGETALL', KEYS[2]) end
return {rooms, log}
""",
)

# KEYS: room, participants, px. ARGV: now, token, generation, participant id, its expiry,
# its JSON, update_time, room expires_at[, session_id JSON, api_key JSON].
# Returns 'room', 'conflict' or {owner, its rooms targets}.
JOIN_ROOM = _script(
    "join_room",
    """
local r = redis.call('HMGET', KEYS[1], 'owner', 'expires_at', 'g')
if not r[1] or tonumber(r[2]) <= now then return 'room' end
if r[3] ~= ARGV[3] then return 'conflict' end
local seq = redis.call('HINCRBY', KEYS[1], 'g', 1)
redis.call('HSET', KEYS[2], ARGV[4], seq .. '|' .. ARGV[5] .. '|' .. ARGV[6])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[2] .. ' ' .. ARGV[4])
if ARGV[9] then redis.call('HSET', KEYS[1], 'session_id', ARGV[9], 'api_key', ARGV[10]) end
touch(ARGV[2], r[1], ARGV[7], ARGV[8], now)
return {r[1], targets(r[1], 'rooms', now)}
""",
)

# KEYS: room, participants, px. ARGV: now, token, participant id, new expiry.
# Returns 'room', 'participant' or 'ok'.
REFRESH_PARTICIPANT = _script(
    "refresh_participant",
    """
if not live_owner(ARGV[2], now) then return 'room' end
local value, a, b = live_participant(KEYS[2], ARGV[3], now)
if not value then return 'participant' end
redis.call('HSET', KEYS[2], ARGV[3], string.sub(value, 1, a) .. ARGV[4] .. string.sub(value, b))
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[2] .. ' ' .. ARGV[3])
return 'ok'
""",
)

# KEYS: room, participants, px. ARGV: now, token, participant id, update_time,
# room expires_at. Returns 'room', 'participant' or {owner, its rooms targets}.
LEAVE_ROOM = _script(
    "leave_room",
    """
local owner = live_owner(ARGV[2], now)
if not owner then return 'room' end
if not live_participant(KEYS[2], ARGV[3], now) then return 'participant' end
redis.call('HDEL', KEYS[2], ARGV[3])
redis.call('ZREM', KEYS[3], ARGV[2] .. ' ' .. ARGV[3])
touch(ARGV[2], owner, ARGV[4], ARGV[5], now)
return {owner, targets(owner, 'rooms', now)}
""",
)

# KEYS: px. ARGV: now, limit, update_time, room expires_at.
# Returns {{owner, targets...}...}, one per touched live room. Each due entry is removed
# from px by the script that reads it, so concurrent reapers never share one.
REAP_PARTICIPANTS = _script(
    "reap_participants",
    """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
if #due == 0 then return {} end
redis.call('ZREM', KEYS[1], unpack(due))
local seen, order = {}, {}
for _, member in ipairs(due) do
  local cut = string.find(member, ' ', 1, true)
  local token, pid = string.sub(member, 1, cut - 1), string.sub(member, cut + 1)
  local key = room_key(token) .. ':p'
  local value = redis.call('HGET', key, pid)
  if value and participant_expiry(value) <= now then
    redis.call('HDEL', key, pid)
    if not seen[token] then
      seen[token] = true
      order[#order + 1] = token
    end
  end
end
local changes = {}
for _, token in ipairs(order) do
  local owner = live_owner(token, now)
  if owner then
    touch(token, owner, ARGV[3], ARGV[4], now)
    changes[#changes + 1] = {owner, targets(owner, 'rooms', now)}
  end
end
return changes
""",
)

# KEYS: secrets. ARGV: now (unused), name/value pairs. Returns the stored values.
ENSURE_SECRETS = _script(
    "ensure_secrets",
    """
local names = {}
for i = 2, #ARGV, 2 do
  redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1])
  names[#names + 1] = ARGV[i]
end
return redis.call('HMGET', KEYS[1], unpack(names))
""",
)

ALL: tuple[Script, ...] = (
    CREATE_SESSION,
    AUTHENTICATE,
    BIND_IDENTITY,
    DELETE_SESSION,
    REGISTER_PUSH,
    UNREGISTER_PUSH,
    PUSH_TARGETS,
    CREATE_ROOM,
    GET_ROOM,
    UPDATE_ROOM,
    DELETE_ROOMS,
    LIST_ROOMS,
    JOIN_ROOM,
    REFRESH_PARTICIPANT,
    LEAVE_ROOM,
    REAP_PARTICIPANTS,
    ENSURE_SECRETS,
)
