"""Push notifications to the devices of a user (loop-api.md §7, decisions D17).

Routes call :meth:`PushNotifier.notify` and move on: delivery is fire-and-forget, runs
in the background with a time limit, and a failing push service never fails or slows
the request that caused the notification.
"""

from __future__ import annotations

from collections.abc import Iterable

import httpx

from loop.config import Settings
from loop.storage import PushTarget, Topic


class PushNotifier:
    """Placeholder until the push module lands: accepts notifications, sends nothing."""

    def __init__(self, http: httpx.AsyncClient, timeout: float) -> None:
        self.http = http
        self.timeout = timeout

    @classmethod
    def from_settings(cls, settings: Settings, *, http: httpx.AsyncClient) -> PushNotifier:
        return cls(http, settings.push.timeout)

    def notify(
        self, targets: Iterable[PushTarget], *, topic: Topic, version: int, reason: str
    ) -> None:
        """Send ``version`` to every target (deduplicated) in the background."""

    async def ping(self) -> bool:
        """Whether the configured push servers answer (``/__heartbeat__``)."""
        return True

    async def close(self) -> None:
        """Wait briefly for deliveries in flight, then cancel the rest."""
