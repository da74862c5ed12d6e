"""Storage for link-based and direct calls (call URLs, calls, call state).

Part of the :class:`~loop.storage.Storage` interface; each backend implements it in its own
``calls`` module (``loop/storage/sqlite/calls.py``, ``loop/storage/redis/calls.py``), and
``loop/storage/testing/calls.py`` holds its contract.
"""

from __future__ import annotations

import abc


class CallStorage(abc.ABC):  # noqa: B024 - methods arrive with the calls feature
    """Call URLs, calls and their progress state."""
