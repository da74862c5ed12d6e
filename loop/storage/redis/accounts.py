"""The Redis side of :class:`loop.storage.accounts.AccountStorage`.

A mixin of :class:`loop.storage.redis.RedisStorage`: it uses the backend's plumbing
(``_run`` for one EVALSHA per call) and keeps its Lua scripts in this module.

Keys (same conventions as :mod:`loop.storage.redis.scripts`): ``s:{device}:o`` hash of an
OAuth session, ``st``/``se`` state and its expiry, ``t``/``te`` token and its expiry,
sharing the session's hash slot. Account deletion finds the user's devices in
``u:{user}:sessions``, which the core session scripts maintain.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from loop.storage.accounts import OAuthRecord
from loop.storage.redis.codec import number
from loop.storage.redis.errors import wrap_redis_error as _wrap
from loop.storage.redis.scripts import Script, _script

# KEYS: oauth. ARGV: now, state, its expiry. Returns the live state.
START_OAUTH = _script(
    "start_oauth",
    """
local o = redis.call('HMGET', KEYS[1], 'st', 'se')
if o[1] and tonumber(o[2]) > now then return o[1] end
redis.call('HSET', KEYS[1], 'st', ARGV[2], 'se', ARGV[3])
extend(KEYS[1], ttl_ms(ARGV[3], now))
return ARGV[2]
""",
)

# KEYS: oauth. ARGV: now. Returns {state, its expiry, token, its expiry}.
GET_OAUTH = _script("get_oauth", "return redis.call('HMGET', KEYS[1], 'st', 'se', 't', 'te')")

# KEYS: oauth. ARGV: now, new state, its expiry. Returns the previous live state or nil.
ROTATE_OAUTH_STATE = _script(
    "rotate_oauth_state",
    """
local o = redis.call('HMGET', KEYS[1], 'st', 'se')
if not o[1] or tonumber(o[2]) <= now then return false end
redis.call('HSET', KEYS[1], 'st', ARGV[2], 'se', ARGV[3])
extend(KEYS[1], ttl_ms(ARGV[3], now))
return o[1]
""",
)

# KEYS: oauth. ARGV: now, token, its expiry.
SET_OAUTH_TOKEN = _script(
    "set_oauth_token",
    """
redis.call('HSET', KEYS[1], 't', ARGV[2], 'te', ARGV[3])
extend(KEYS[1], ttl_ms(ARGV[3], now))
""",
)

# KEYS: the user's sessions index, push index, rooms index, deletion log. ARGV: now, user,
# the caller's device. Feature hooks are appended (``user`` and ``now`` are in scope).
DELETE_ACCOUNT_BODY = """
local user = ARGV[2]
local function forget_push_of(device)
  local key = 's:{' .. device .. '}'
  redis.call('HDEL', key, 'p:calls:' .. user, 'p:rooms:' .. user)
  local kept = {}
  for _, other in ipairs(push_users(redis.call('HGET', key, 'pu'))) do
    if other ~= user then kept[#kept + 1] = other end
  end
  if #kept > 0 then
    redis.call('HSET', key, 'pu', table.concat(kept, '\\n'))
  else
    redis.call('HDEL', key, 'pu')
  end
end
local function forget_session(device)
  local key = 's:{' .. device .. '}'
  for _, other in ipairs(push_users(redis.call('HGET', key, 'pu'))) do
    redis.call('SREM', push_index(other), device)
  end
  redis.call('DEL', key, key .. ':n', key .. ':o')
end
for _, device in ipairs(redis.call('SMEMBERS', KEYS[2])) do forget_push_of(device) end
local devices = redis.call('SMEMBERS', KEYS[1])
devices[#devices + 1] = ARGV[3]
for _, device in ipairs(devices) do forget_session(device) end
for _, token in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
  if redis.call('HGET', room_key(token), 'owner') == user then drop_room(token) end
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
"""


@functools.cache
def delete_account_script(hooks: tuple[str, ...]) -> Script:
    """The deletion script with the feature mixins' Lua hooks appended (built once)."""
    return _script("delete_account", DELETE_ACCOUNT_BODY + "\n".join(hooks))


def _oauth_key(hawk_id_hmac: str) -> str:
    return f"s:{{{hawk_id_hmac}}}:o"


def _user_key(user: str, what: str) -> str:
    return f"u:{{{user}}}:{what}"


class RedisAccountStorage:
    if TYPE_CHECKING:

        async def _run(self, script: Script, keys: Sequence[str], *args: str) -> Any: ...

    @_wrap
    async def start_oauth(self, hawk_id_hmac: str, *, state: str, now: float, ttl: float) -> str:
        key = [_oauth_key(hawk_id_hmac)]
        stored: str = await self._run(START_OAUTH, key, number(now), state, number(now + ttl))
        return stored

    @_wrap
    async def get_oauth(self, hawk_id_hmac: str, *, now: float) -> OAuthRecord | None:
        state, state_expiry, token, token_expiry = await self._run(
            GET_OAUTH, [_oauth_key(hawk_id_hmac)], number(now)
        )
        if state is None or float(state_expiry) <= now:
            return None
        live_token = token if token is not None and float(token_expiry) > now else None
        return OAuthRecord(state=state, token=live_token)

    @_wrap
    async def rotate_oauth_state(
        self, hawk_id_hmac: str, *, state: str, now: float, ttl: float
    ) -> str | None:
        key = [_oauth_key(hawk_id_hmac)]
        previous: str | None = await self._run(
            ROTATE_OAUTH_STATE, key, number(now), state, number(now + ttl)
        )
        return previous

    @_wrap
    async def set_oauth_token(
        self, hawk_id_hmac: str, *, token: str, now: float, ttl: float
    ) -> None:
        key = [_oauth_key(hawk_id_hmac)]
        await self._run(SET_OAUTH_TOKEN, key, number(now), token, number(now + ttl))

    @_wrap
    async def delete_account(self, user: str, *, hawk_id_hmac: str, now: float) -> None:
        keys = [_user_key(user, what) for what in ("sessions", "push", "rooms", "deleted")]
        script = delete_account_script(self._account_deletion_hooks())
        await self._run(script, keys, number(now), user, hawk_id_hmac)

    @classmethod
    def _account_deletion_hooks(cls) -> tuple[str, ...]:
        """The ``ACCOUNT_DELETION_LUA`` snippets the feature mixins declare (module
        docstring of :mod:`loop.storage.accounts`)."""
        found = (vars(klass).get("ACCOUNT_DELETION_LUA", "") for klass in cls.__mro__)
        return tuple(snippet for snippet in found if snippet)
