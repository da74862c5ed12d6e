"""Storage for identities: FxA OAuth state and tokens, account deletion (D13).

Part of the :class:`~loop.storage.Storage` interface; each backend implements it in its own
``accounts`` module, and ``loop/storage/testing/accounts.py`` holds its contract.
"""

from __future__ import annotations

import abc


class AccountStorage(abc.ABC):  # noqa: B024 - methods arrive with the identities feature
    """What a signed-in user's identity brings: OAuth state, and forgetting everything."""
