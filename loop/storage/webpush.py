"""Storage for Web Push housekeeping: forgetting subscriptions a push service says are gone.

Part of the :class:`~loop.storage.Storage` interface; each backend implements it in its own
``webpush`` module, and ``loop/storage/testing/webpush.py`` holds its contract.
"""

from __future__ import annotations

import abc


class WebPushStorage(abc.ABC):  # noqa: B024 - methods arrive with the Web Push feature
    """Push registrations that the push service reported as expired (404/410)."""
