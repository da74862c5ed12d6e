"""What every SQLite concern mixin uses of :class:`~loop.storage.sqlite.SQLiteStorage`.

The mixins (``sessions``, ``rooms``, ``calls``…) are only ever combined into that class,
which defines these members; declaring them once here lets each mixin be type-checked on
its own without repeating the declarations.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from loop.storage.checks import KnownSessions


class SQLitePlumbing:
    if TYPE_CHECKING:
        _db: sqlite3.Connection

        def _run(
            self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
        ) -> sqlite3.Cursor: ...

        def _transaction(
            self, *, now: float | None = None
        ) -> contextlib.AbstractContextManager[None]: ...

        def _check_open(self) -> None: ...

        known_sessions: KnownSessions
