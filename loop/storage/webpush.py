"""Storage for Web Push housekeeping: forgetting subscriptions a push service says are gone.

Part of the :class:`~loop.storage.Storage` interface; each backend implements it in its own
``webpush`` module, and ``loop/storage/testing/webpush.py`` holds its contract.
"""

from __future__ import annotations

import abc

from loop.storage.sessions import PushTarget


class WebPushStorage(abc.ABC):
    """Push registrations that the push service reported as expired (404/410)."""

    @abc.abstractmethod
    async def forget_push_target(self, user: str, target: PushTarget, *, now: float) -> int:
        """Remove ``target`` (compared by value, so key order does not matter) from every
        topic of every device registered as ``user``, leaving the devices' other targets
        alone; return how many registrations were removed (0 if none, never an error).

        RFC 8030 §7.3: a 404/410 means the subscription will never work again, and a
        user's devices may share one (the notifier deduplicates them), so it goes from
        all of them at once.
        """
