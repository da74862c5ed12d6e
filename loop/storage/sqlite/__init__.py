"""The SQLite backend: the embedded default (decisions.md D16), a single file that survives
restarts and needs nothing installed.

Calls run synchronously on the event loop thread: each public method is one short
transaction (``BEGIN IMMEDIATE`` when it writes) measured in microseconds, cheaper than a
hop to a worker thread, and since nothing awaits inside a method, transactions never
interleave. Several processes may share a file: WAL lets readers run beside the writer,
and ``BEGIN IMMEDIATE`` with a busy timeout serialises the writers.

Visibility follows :mod:`loop.storage`: every read filters on ``expires_at > now``. Expired
rows are purged in bounded batches at the start of write transactions, at most once per
``PURGE_INTERVAL`` seconds of the callers' clock, never the wall clock's. Conditional
mutations are written optimistically (``UPDATE ... WHERE <condition>``) and only when no
row matched does a second query find out which domain error to raise.

The concerns live in mixins (``sessions``, ``rooms``, ``calls``, ``accounts``,
``webpush`` modules); this module is their plumbing, the purge and the lifecycle.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from loop.storage import DEFAULT_TIMEOUT, BackendError, Storage
from loop.storage.sqlite.accounts import SQLiteAccountStorage
from loop.storage.sqlite.admin import SQLiteAdminStorage
from loop.storage.sqlite.calls import SQLiteCallStorage
from loop.storage.sqlite.codec import json_list
from loop.storage.sqlite.errors import wrap_sqlite_error
from loop.storage.sqlite.rooms import SQLiteRoomStorage
from loop.storage.sqlite.sessions import SQLiteSessionStorage
from loop.storage.sqlite.signalling import SQLiteSignallingStorage
from loop.storage.sqlite.statements import (
    DELETE_NONCES_OF,
    DELETE_PARTICIPANTS,
    DELETE_PUSH_OF,
    DELETE_SESSIONS,
    EXPIRED_ROOMS,
    EXPIRED_SESSIONS,
    HEARTBEAT,
    INSERT_SECRETS,
    PURGE,
    PURGE_ROOMS,
    SCHEMA,
    SCHEMA_VERSION,
    SELECT_SECRETS,
    TABLES,
)
from loop.storage.sqlite.webpush import SQLiteWebPushStorage

PURGE_INTERVAL = 1.0
"""Seconds of the callers' clock between two purges."""
PURGE_BATCH = 2000
"""Rows of each kind one purge removes at most, so a write never stalls on a backlog. At
one purge a second this outpaces what a busy server writes (every Hawk request leaves a
nonce for two minutes: about 1,200 a second at full load)."""


class SQLiteStorage(
    SQLiteSessionStorage,
    SQLiteRoomStorage,
    SQLiteCallStorage,
    SQLiteAccountStorage,
    SQLiteWebPushStorage,
    SQLiteSignallingStorage,
    SQLiteAdminStorage,
    Storage,
):
    """The concern mixins on the plumbing below (``_transaction``, ``_run``, the purge) and
    the backend's lifecycle. ``stats.round_trips`` counts transactions (one per call);
    ``stats.commands`` counts the statements run in them, BEGIN and COMMIT aside, purges
    included."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        super().__init__()
        self._db = connection
        self._next_purge = float("-inf")

    # -- plumbing --------------------------------------------------------------------------

    @classmethod
    def feature_schema(cls) -> tuple[str, ...]:
        """The tables of the feature mixins (``CREATE ... IF NOT EXISTS``, run at each
        start, so a feature's tables appear in an existing database without a migration)."""
        return (
            *SQLiteCallStorage.SCHEMA,
            *SQLiteAccountStorage.SCHEMA,
            *SQLiteWebPushStorage.SCHEMA,
        )

    @classmethod
    def feature_tables(cls) -> tuple[str, ...]:
        return (
            *SQLiteCallStorage.TABLES,
            *SQLiteAccountStorage.TABLES,
            *SQLiteWebPushStorage.TABLES,
        )

    def _check_open(self) -> None:
        """A closed database refuses subscriptions as it refuses everything else."""
        try:
            self._db.execute("SELECT 1")
        except sqlite3.Error as error:
            raise BackendError(error) from error

    def _run(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> sqlite3.Cursor:
        self.stats.commands += 1
        return self._db.execute(sql, params)

    @contextlib.contextmanager
    def _transaction(self, *, write: bool, now: float | None = None) -> Iterator[None]:
        """One method, one transaction; any exception (domain ones too) rolls it back."""
        self.stats.round_trips += 1
        self._db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            if write and now is not None and now >= self._next_purge:
                self._purge(now)
            yield
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _purge(self, now: float) -> None:
        """Reclaim a bounded batch of expired rows; reads already ignore them."""
        self._next_purge = now + PURGE_INTERVAL
        sessions = json_list(row[0] for row in self._run(EXPIRED_SESSIONS, (now, PURGE_BATCH)))
        for sql in (DELETE_PUSH_OF, DELETE_NONCES_OF, DELETE_SESSIONS):
            self._run(sql, (sessions,))
        rooms = json_list(row[0] for row in self._run(EXPIRED_ROOMS, (now, PURGE_BATCH)))
        self._run(DELETE_PARTICIPANTS, (rooms,))
        self._run(PURGE_ROOMS, (rooms,))
        for sql in PURGE:
            self._run(sql, (now, PURGE_BATCH))

    # -- lifecycle -------------------------------------------------------------------------

    async def close(self) -> None:
        self._db.close()

    async def ping(self, *, now: float) -> bool:
        try:
            with self._transaction(write=True):
                self._run(HEARTBEAT, (now,))
        except sqlite3.Error:
            return False
        return True

    @wrap_sqlite_error
    async def flush(self) -> None:
        with self._transaction(write=True):
            for table in (*TABLES, *self.feature_tables()):
                self._run(f"DELETE FROM {table}")
        self._next_purge = float("-inf")

    @wrap_sqlite_error
    async def ensure_secrets(self, candidates: Mapping[str, str]) -> dict[str, str]:
        with self._transaction(write=True):
            self._run(INSERT_SECRETS, (json.dumps(dict(candidates)),))
            rows = self._run(SELECT_SECRETS, (json.dumps(dict(candidates)),))
            return {name: value for name, value in rows}


def database_path(url: str) -> str:
    """``sqlite:///rel.db`` and ``sqlite:////abs.db`` name files (three slashes then the
    path, as SQLAlchemy has it); ``sqlite://:memory:`` and ``sqlite:///:memory:`` don't."""
    scheme, sep, rest = url.partition("://")
    if scheme.lower() != "sqlite" or not sep:
        raise ValueError(f"storage.url: not a sqlite:// URL: {url!r}")
    if rest in (":memory:", "/:memory:"):
        return ":memory:"
    if not rest.startswith("/") or len(rest) < 2:
        raise ValueError(f"storage.url: use sqlite:///relative.db or sqlite:////abs.db: {url!r}")
    return rest[1:]


def open_database(path: str, *, timeout: float = DEFAULT_TIMEOUT) -> sqlite3.Connection:
    """``timeout`` (``storage.timeout``) is the busy timeout: how long a writer waits for
    another process's write lock before failing."""
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
    try:
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        migrate(db)
    except BaseException:
        db.close()
        raise
    return db


def migrate(db: sqlite3.Connection) -> None:
    """Bring the schema to ``SCHEMA_VERSION``; the write lock makes concurrent starts safe."""
    db.execute("BEGIN IMMEDIATE")
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise BackendError(message=f"database schema {version} is newer than this server")
        if version == 0:
            for statement in SCHEMA:
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        for statement in SQLiteStorage.feature_schema():
            db.execute(statement)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


async def from_url(url: str, *, timeout: float = DEFAULT_TIMEOUT) -> Storage:
    try:
        return SQLiteStorage(open_database(database_path(url), timeout=timeout))
    except sqlite3.Error as error:
        raise BackendError(error) from error
