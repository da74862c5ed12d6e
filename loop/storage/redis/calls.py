"""The Redis side of :class:`loop.storage.calls.CallStorage`.

A mixin of :class:`loop.storage.redis.RedisStorage`: it uses the backend's plumbing
(``_run`` for one EVALSHA per call) and keeps its Lua scripts in this module.

Keys (conventions of :mod:`loop.storage.redis.scripts`):

* ``cu:{token}`` hash: ``u`` owner, ``e`` expiry, ``d`` the :class:`CallUrl` as JSON;
  ``u:{user}:urls`` zset of tokens scored by ``timestamp``;
* ``rl:{key}`` hash: ``e`` end of the rate window, ``n`` creations in it;
* ``c:{callId}`` hash: ``e`` expiry, ``d`` the :class:`Call` as JSON, ``r`` termination
  reason, ``n:caller``/``n:callee`` connected devices; ``c:{callId}:m`` set of progress
  markers; ``u:{user}:calls`` zset of call ids scored by ``timestamp``.

Progress scripts ``PUBLISH`` ``"<markers>|<reason>"`` on ``cp:<callId>`` when the markers
changed: the state change and its fan-out to every server process are one round trip.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

from loop.storage.calls import (
    Call,
    CallCreated,
    CallProgress,
    CallSubscription,
    CallUrl,
    CallUrlNotFound,
    Listener,
    NotCallUrlOwner,
    Party,
    RateLimit,
    RateLimited,
)
from loop.storage.redis.codec import number
from loop.storage.redis.errors import wrap_redis_error as _wrap
from loop.storage.redis.scripts import Script, _script

if TYPE_CHECKING:
    import redis.asyncio

    from loop.storage.redis.pubsub import RedisHub


# KEYS: url, owner's index, rate. ARGV: now, token, timestamp, expires, json, limit, period.
CREATE_CALL_URL = _script(
    "create_call_url",
    """
local rate = redis.call('HMGET', KEYS[3], 'e', 'n')
local window, hits = tonumber(rate[1]), tonumber(rate[2])
if not window or window <= now then window, hits = now + tonumber(ARGV[7]), 0 end
if hits >= tonumber(ARGV[6]) then return {'limited', tostring(window - now)} end
redis.call('HSET', KEYS[3], 'e', tostring(window), 'n', hits + 1)
redis.call('PEXPIRE', KEYS[3], ttl_ms(window, now))
local record = cjson.decode(ARGV[5])
redis.call('HSET', KEYS[1], 'u', record['user'], 'e', ARGV[4], 'd', ARGV[5])
local ms = ttl_ms(ARGV[4], now)
redis.call('PEXPIRE', KEYS[1], ms)
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
extend(KEYS[2], ms)
return 'ok'
""",
)

GET_LIVE = """
local u = redis.call('HMGET', KEYS[1], 'e', 'd')
if not u[1] or tonumber(u[1]) <= now then return false end
return u[2]
"""

# KEYS: url. ARGV: now. Returns the JSON record or nil.
GET_CALL_URL = _script("get_call_url", GET_LIVE)

# KEYS: owner's index. ARGV: now, user. Returns the live records' JSON, in order.
LIST_CALL_URLS = _script(
    "list_call_urls",
    """
local found = {}
for _, token in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local u = redis.call('HMGET', 'cu:{' .. token .. '}', 'u', 'e', 'd')
  if not u[1] or u[1] ~= ARGV[2] then
    redis.call('ZREM', KEYS[1], token)
  elseif tonumber(u[2]) > now then
    found[#found + 1] = u[3]
  end
end
return found
""",
)

# KEYS: url, owner's index. ARGV: now, user, token, then ('put', timestamp, expires, json)
# or ('delete'). Returns 'ok', 'notfound' or 'owner'.
CHANGE_CALL_URL = _script(
    "change_call_url",
    """
local u = redis.call('HMGET', KEYS[1], 'u', 'e')
if not u[1] or tonumber(u[2]) <= now then return 'notfound' end
if u[1] ~= ARGV[2] then return 'owner' end
if ARGV[4] == 'delete' then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[3])
  return 'ok'
end
redis.call('HSET', KEYS[1], 'e', ARGV[6], 'd', ARGV[7])
local ms = ttl_ms(ARGV[6], now)
redis.call('PEXPIRE', KEYS[1], ms)
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[3])
extend(KEYS[2], ms)
return 'ok'
""",
)

# KEYS: call, markers. ARGV: now, call id, timestamp, expiry, json, reachable only (1/0),
# callees... Returns {filed callees, their calls push targets}.
CREATE_CALL = _script(
    "create_call",
    """
local chosen, found, seen = {}, {}, {}
for i = 7, #ARGV do
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
  redis.call('ZADD', index, ARGV[3], ARGV[2])
  extend(index, ms)
end
return {chosen, found}
""",
)

# KEYS: call. ARGV: now. Returns the JSON record or nil.
GET_CALL = _script("get_call", GET_LIVE)

# KEYS: user's calls index. ARGV: now, since. Returns the live, not terminated records.
LIST_CALLS = _script(
    "list_calls",
    """
local found = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[2], '+inf')) do
  local key = 'c:{' .. id .. '}'
  local c = redis.call('HMGET', key, 'e', 'd')
  if not c[1] then
    redis.call('ZREM', KEYS[1], id)
  elseif tonumber(c[1]) > now and redis.call('SCARD', key .. ':m') > 0 then
    found[#found + 1] = c[2]
  end
end
return found
""",
)

PROGRESS_PRELUDE = """
local function allowed(when, count) return string.find(when, ',' .. count .. ',', 1, true) end
local function terminate(reason)
  redis.call('DEL', KEYS[2])
  if reason == '' then redis.call('HDEL', KEYS[1], 'r')
  else redis.call('HSET', KEYS[1], 'r', reason) end
end
local e = redis.call('HGET', KEYS[1], 'e')
if not e or tonumber(e) <= now then return false end
local before = redis.call('SCARD', KEYS[2])
"""

PROGRESS_FINISH = """
local after = redis.call('SCARD', KEYS[2])
local reason = false
if after == 0 then reason = redis.call('HGET', KEYS[1], 'r') end
if after ~= before then redis.call('PUBLISH', ARGV[2], after .. '|' .. (reason or '')) end
return {before, after, reason}
"""


def _progress_script(name: str, body: str) -> Script:
    return _script(name, PROGRESS_PRELUDE + body + PROGRESS_FINISH)


# Every progress script: KEYS call, markers; ARGV now, channel, then its own.
# ARGV: ..., party, marker, when (",1,2,").
JOIN_CALL = _progress_script(
    "join_call",
    """
redis.call('HINCRBY', KEYS[1], 'n:' .. ARGV[3], 1)
if allowed(ARGV[5], before) then redis.call('SADD', KEYS[2], ARGV[4]) end
""",
)

# ARGV: ..., marker, when.
MARK_CALL = _progress_script(
    "mark_call",
    "if allowed(ARGV[4], before) then redis.call('SADD', KEYS[2], ARGV[3]) end",
)

# ARGV: ..., reason ('' for none), when.
TERMINATE_CALL = _progress_script(
    "terminate_call",
    "if before > 0 and allowed(ARGV[4], before) then terminate(ARGV[3]) end",
)

# ARGV: ..., party, reason.
LEAVE_CALL = _progress_script(
    "leave_call",
    """
local left = redis.call('HINCRBY', KEYS[1], 'n:' .. ARGV[3], -1)
if left <= 0 then
  redis.call('HSET', KEYS[1], 'n:' .. ARGV[3], 0)
  if before > 0 then terminate(ARGV[4]) end
end
""",
)

ACCOUNT_DELETION_LUA = """
for _, token in ipairs(redis.call('ZRANGE', 'u:{' .. user .. '}:urls', 0, -1)) do
  local key = 'cu:{' .. token .. '}'
  if redis.call('HGET', key, 'u') == user then redis.call('DEL', key) end
end
for _, id in ipairs(redis.call('ZRANGE', 'u:{' .. user .. '}:calls', 0, -1)) do
  redis.call('DEL', 'c:{' .. id .. '}', 'c:{' .. id .. '}:m')
end
redis.call('DEL', 'u:{' .. user .. '}:urls', 'u:{' .. user .. '}:calls')
"""


def _url_keys(token: str, user: str) -> list[str]:
    return [f"cu:{{{token}}}", f"u:{{{user}}}:urls"]


def _call_keys(call_id: str) -> list[str]:
    return [f"c:{{{call_id}}}", f"c:{{{call_id}}}:m"]


def channel(call_id: str) -> str:
    return f"cp:{call_id}"


def _encode_url(url: CallUrl) -> str:
    fields = {
        "token": url.token,
        "user": url.user,
        "issuer": url.issuer,
        "timestamp": url.timestamp,
        "expires": url.expires,
        "caller_id": url.caller_id,
        "subject": url.subject,
    }
    return json.dumps(fields, separators=(",", ":"))


def _decode_url(text: str) -> CallUrl:
    return CallUrl(**json.loads(text))


def _when(counts: Collection[int]) -> str:
    return "," + ",".join(str(count) for count in sorted(counts)) + ","


def _progress(reply: Any) -> CallProgress | None:
    if reply is None:
        return None
    before, after, reason = reply
    return CallProgress(markers=int(after), previous=int(before), reason=reason or None)


class RedisCallStorage:
    ACCOUNT_DELETION_LUA = ACCOUNT_DELETION_LUA

    if TYPE_CHECKING:
        _client: redis.asyncio.Redis

        async def _run(self, script: Script, keys: Sequence[str], *args: str) -> Any: ...

        def _count(self) -> None: ...

    # -- call URLs -------------------------------------------------------------------------

    @_wrap
    async def create_call_url(self, url: CallUrl, *, now: float, rate: RateLimit) -> None:
        keys = [*_url_keys(url.token, url.user), f"rl:{{{rate.key}}}"]
        args = (url.token, str(url.timestamp), str(url.expires), _encode_url(url))
        reply = await self._run(
            CREATE_CALL_URL, keys, number(now), *args, str(rate.limit), number(rate.period)
        )
        if isinstance(reply, list):
            raise RateLimited(max(1, int(float(reply[1]) + 0.999)))

    @_wrap
    async def get_call_url(self, token: str, *, now: float) -> CallUrl | None:
        reply = await self._run(GET_CALL_URL, _url_keys(token, "")[:1], number(now))
        return None if reply is None else _decode_url(reply)

    @_wrap
    async def list_call_urls(self, user: str, *, now: float) -> list[CallUrl]:
        replies = await self._run(LIST_CALL_URLS, _url_keys("", user)[1:], number(now), user)
        return [_decode_url(text) for text in replies]

    @_wrap
    async def update_call_url(self, url: CallUrl, *, now: float) -> None:
        put = ("put", str(url.timestamp), str(url.expires), _encode_url(url))
        await self._change_url(url.token, url.user, now, *put)

    @_wrap
    async def delete_call_url(self, token: str, *, user: str, now: float) -> None:
        await self._change_url(token, user, now, "delete")

    async def _change_url(self, token: str, user: str, now: float, *args: str) -> None:
        keys = _url_keys(token, user)
        outcome = await self._run(CHANGE_CALL_URL, keys, number(now), user, token, *args)
        if outcome == "notfound":
            raise CallUrlNotFound(token)
        if outcome == "owner":
            raise NotCallUrlOwner(token)

    # -- calls -----------------------------------------------------------------------------

    @_wrap
    async def create_call(
        self, call: Call, *, callees: Sequence[str], reachable_only: bool, now: float
    ) -> CallCreated:
        record = json.dumps(call.to_json(), separators=(",", ":"))
        chosen, texts = await self._run(
            CREATE_CALL,
            _call_keys(call.call_id),
            number(now),
            call.call_id,
            str(call.timestamp),
            number(call.expires_at),
            record,
            "1" if reachable_only else "0",
            *callees,
        )
        return CallCreated(tuple(chosen), tuple(json.loads(text) for text in texts))

    @_wrap
    async def get_call(self, call_id: str, *, now: float) -> Call | None:
        reply = await self._run(GET_CALL, _call_keys(call_id)[:1], number(now))
        return None if reply is None else Call.from_json(json.loads(reply))

    @_wrap
    async def list_calls(self, user: str, *, since: int, now: float) -> list[Call]:
        index = [f"u:{{{user}}}:calls"]
        replies = await self._run(LIST_CALLS, index, number(now), str(since))
        calls = [Call.from_json(json.loads(text)) for text in replies]
        return sorted(calls, key=lambda call: (call.timestamp, call.call_id))

    # -- progress --------------------------------------------------------------------------

    async def join_call(
        self, call_id: str, *, party: Party, marker: str, when: Collection[int], now: float
    ) -> CallProgress | None:
        return await self._step(JOIN_CALL, call_id, now, party, marker, _when(when))

    async def mark_call(
        self, call_id: str, *, marker: str, when: Collection[int], now: float
    ) -> CallProgress | None:
        return await self._step(MARK_CALL, call_id, now, marker, _when(when))

    async def terminate_call(
        self, call_id: str, *, reason: str | None, when: Collection[int], now: float
    ) -> CallProgress | None:
        return await self._step(TERMINATE_CALL, call_id, now, reason or "", _when(when))

    async def leave_call(
        self, call_id: str, *, party: Party, reason: str, now: float
    ) -> CallProgress | None:
        return await self._step(LEAVE_CALL, call_id, now, party, reason)

    @_wrap
    async def _step(
        self, script: Script, call_id: str, now: float, *args: str
    ) -> CallProgress | None:
        keys = _call_keys(call_id)
        return _progress(await self._run(script, keys, number(now), channel(call_id), *args))

    async def subscribe_call(self, call_id: str, listener: Listener) -> CallSubscription:
        self._count()
        return await self._call_hub().subscribe(channel(call_id), listener)

    def _call_hub(self) -> RedisHub:
        from loop.storage.redis.pubsub import RedisHub

        hub: RedisHub | None = getattr(self, "_calls_hub", None)
        if hub is None:
            hub = RedisHub(self._client)
            self._calls_hub = hub
        return hub

    async def _close_call_hub(self) -> None:
        """Called by the backend's ``close``: stop the shared pub/sub reader."""
        hub: RedisHub | None = getattr(self, "_calls_hub", None)
        if hub is not None:
            await hub.close()
