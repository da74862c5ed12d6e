"""The Redis side of :class:`loop.storage.webpush.WebPushStorage`.

A mixin of :class:`loop.storage.redis.RedisStorage`: it uses the backend's plumbing
(``_run`` for one EVALSHA per call); its script is ``lua/forget_push_target.lua``.
"""

from __future__ import annotations

from loop.storage.redis import codec, keys
from loop.storage.redis.codec import number
from loop.storage.redis.errors import wrap_redis_error
from loop.storage.redis.plumbing import RedisPlumbing
from loop.storage.redis.scripts import load
from loop.storage.sessions import PushTarget

FORGET_PUSH_TARGET = load("forget_push_target")


class RedisWebPushStorage(RedisPlumbing):
    @wrap_redis_error
    async def forget_push_target(self, user: str, target: PushTarget, *, now: float) -> int:
        """Compared as canonical JSON text, the form ``register_push`` stored."""
        (_, text) = codec.target_fields({"rooms": target})
        removed = await self._run(
            FORGET_PUSH_TARGET, [keys.user(user, "push")], number(now), user, text
        )
        return int(removed)
