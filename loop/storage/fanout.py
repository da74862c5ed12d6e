"""In-process fan-out of published messages (call progress, room signalling) to the
listeners of a channel.

SQLite publishes straight into it after each commit; Redis feeds it from the one pub/sub
connection a process holds per concern (:mod:`loop.storage.redis.pubsub`), so thousands
of sockets cost one Redis connection, not one each.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from loop.storage.calls import CallSubscription

logger = logging.getLogger("loop.storage")

T = TypeVar("T")


class LocalHub(Generic[T]):
    """Channel → listeners of messages of type ``T``, in subscription order."""

    def __init__(self) -> None:
        self._listeners: dict[str, dict[int, Callable[[T], None]]] = {}
        self._next_id = 0

    def add(self, channel: str, listener: Callable[[T], None]) -> tuple[int, bool]:
        """Register ``listener``; returns its id and whether the channel is new here."""
        self._next_id += 1
        listeners = self._listeners.setdefault(channel, {})
        listeners[self._next_id] = listener
        return self._next_id, len(listeners) == 1

    def remove(self, channel: str, listener_id: int) -> bool:
        """Forget a listener; returns whether the channel has no listener left."""
        listeners = self._listeners.get(channel)
        if listeners is None:
            return False
        listeners.pop(listener_id, None)
        if listeners:
            return False
        del self._listeners[channel]
        return True

    def has(self, channel: str) -> bool:
        return channel in self._listeners

    def publish(self, channel: str, message: T) -> None:
        """Call every listener of ``channel``; one failing listener does not stop the rest."""
        for listener in list(self._listeners.get(channel, {}).values()):
            try:
                listener(message)
            except Exception:
                logger.exception("pub/sub listener failed")

    @property
    def channels(self) -> int:
        return len(self._listeners)


class HubSubscription(CallSubscription):
    """Ends one listener's subscription through ``release`` (at most once)."""

    def __init__(self, release: Callable[[], Awaitable[None]]) -> None:
        self._release: Callable[[], Awaitable[None]] | None = release

    async def close(self) -> None:
        release, self._release = self._release, None
        if release is None:
            return
        try:
            await release()
        except Exception:
            logger.warning("unsubscribe failed", exc_info=True)
