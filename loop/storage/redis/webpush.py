"""The Redis side of :class:`loop.storage.webpush.WebPushStorage`.

A mixin of :class:`loop.storage.redis.RedisStorage`: it uses the backend's plumbing
(``_run`` for one EVALSHA per call); its script is ``lua/forget_push_target.lua``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from loop.storage.redis import codec, keys
from loop.storage.redis.codec import number
from loop.storage.redis.errors import wrap_redis_error
from loop.storage.redis.scripts import Script, load
from loop.storage.sessions import PushTarget

FORGET_PUSH_TARGET = load("forget_push_target")


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
            FORGET_PUSH_TARGET, [keys.user(user, "push")], number(now), user, text
        )
        return int(removed)
