"""The SQLite side of :class:`loop.storage.accounts.AccountStorage`.

A mixin of :class:`loop.storage.sqlite.SQLiteStorage`: it uses the backend's plumbing
(``_transaction``, ``_run``) and brings its own tables in ``SCHEMA`` (created with
``IF NOT EXISTS`` at every start) and ``TABLES`` (emptied by ``flush``).
"""

from __future__ import annotations


class SQLiteAccountStorage:
    SCHEMA: tuple[str, ...] = ()
    TABLES: tuple[str, ...] = ()
