"""The Redis side of :class:`loop.storage.webpush.WebPushStorage`.

A mixin of :class:`loop.storage.redis.RedisStorage`: it uses the backend's plumbing
(``_run`` for one EVALSHA per call) and keeps its Lua scripts in this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from loop.storage import PushTarget
from loop.storage.redis import codec
from loop.storage.redis.codec import number
from loop.storage.redis.errors import wrap_redis_error
from loop.storage.redis.scripts import Script, _script

# KEYS: the user's push index. ARGV: now, user, target (canonical JSON).
# Clears the target from both topics of every device indexed for the user; a device left
# with no target for that user leaves the index and its ``pu`` list (as UNREGISTER_PUSH).
# Returns how many registrations were removed.
FORGET_PUSH_TARGET = _script(
    "forget_push_target",
    """
local user, removed = ARGV[2], 0
for _, device in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = 's:{' .. device .. '}'
  local fields = {'p:calls:' .. user, 'p:rooms:' .. user}
  local s = redis.call('HMGET', key, fields[1], fields[2])
  local kept = 0
  for i = 1, 2 do
    if s[i] == ARGV[3] then
      redis.call('HDEL', key, fields[i])
      removed = removed + 1
    elseif s[i] then
      kept = kept + 1
    end
  end
  if kept == 0 then
    redis.call('SREM', KEYS[1], device)
    local users = {}
    for _, other in ipairs(push_users(redis.call('HGET', key, 'pu'))) do
      if other ~= user then users[#users + 1] = other end
    end
    if #users > 0 then
      redis.call('HSET', key, 'pu', table.concat(users, '\\n'))
    else
      redis.call('HDEL', key, 'pu')
    end
  end
end
return removed
""",
)


class _Plumbing(Protocol):
    """What the mixin uses of :class:`~loop.storage.redis.RedisStorage`."""

    async def _run(self, script: Script, keys: Sequence[str], *args: str) -> Any: ...


class RedisWebPushStorage:
    @wrap_redis_error
    async def forget_push_target(
        self: _Plumbing, user: str, target: PushTarget, *, now: float
    ) -> int:
        """Compared as canonical JSON text, the form ``register_push`` stored."""
        (_, text) = codec.target_fields({"rooms": target})
        removed = await self._run(
            FORGET_PUSH_TARGET, [f"u:{{{user}}}:push"], number(now), user, text
        )
        return int(removed)
