"""What every Redis concern mixin uses of :class:`~loop.storage.redis.RedisStorage`.

The mixins (``sessions``, ``rooms``, ``calls``…) are only ever combined into that class,
which defines these members; declaring them once here lets each mixin be type-checked on
its own without repeating the declarations.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import redis.asyncio

from loop.storage.checks import KnownSessions
from loop.storage.redis.lane import Lane
from loop.storage.redis.scripts import Script


class RedisPlumbing:
    if TYPE_CHECKING:
        _client: redis.asyncio.Redis
        _subscriber: redis.asyncio.Redis
        _lane: Lane
        _timeout: float

        async def _run(self, script: Script, keys: Sequence[str], *args: str) -> Any: ...

        def _count(self) -> None: ...

        known_sessions: KnownSessions
