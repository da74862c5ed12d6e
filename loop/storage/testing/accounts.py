"""Contract of :class:`loop.storage.accounts.AccountStorage`, run against every backend."""

from __future__ import annotations


class AccountContract:
    pass
