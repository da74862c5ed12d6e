"""The SQLite backend: the embedded default (decisions.md D16), a single file that survives
restarts and needs nothing installed.

Calls run synchronously on the event loop thread, measured in microseconds, cheaper than
a hop to a worker thread; nothing awaits inside a method, so calls never interleave. The
calls of one turn of the event loop share one transaction, each in a savepoint, committed
at the end of the turn (:mod:`.turns`, decisions.md D34). Several processes may share a
file: WAL lets readers of other processes run beside the writer, and ``BEGIN IMMEDIATE``
with a busy timeout serialises the writers.

Visibility follows :mod:`loop.storage`: every read filters on ``expires_at > now``. Expired
rows are purged in bounded batches at the start of calls given the time, at most once per
``PURGE_INTERVAL`` seconds of the callers' clock, never the wall clock's. Conditional
mutations are written optimistically (``UPDATE ... WHERE <condition>``) and only when no
row matched does a second query find out which domain error to raise.

The concerns live in mixins (``sessions``, ``rooms``, ``calls``, ``accounts``,
``webpush`` modules); this module is their plumbing, the purge and the lifecycle.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from loop.storage import DEFAULT_TIMEOUT, BackendError, Storage
from loop.storage.checks import SessionCheck, SessionCheckFailed, armed_check
from loop.storage.secrets import FINGERPRINT, SecretsDiverged
from loop.storage.sqlite import quotas
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
    SELECT_SECRET,
    SELECT_SECRETS,
    TABLES,
)
from loop.storage.sqlite.turns import Turn, TurnCommitting, commit_open_turns
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
    TurnCommitting,
    Storage,
):
    """The concern mixins on the plumbing below (``_transaction``, ``_run``, the purge) and
    the backend's lifecycle. ``stats.round_trips`` counts calls (several share a turn's
    transaction); ``stats.commands`` counts the statements run in them, BEGIN, COMMIT and
    savepoints aside, purges included."""

    def __init__(self, connection: sqlite3.Connection, path: str = ":memory:") -> None:
        super().__init__()
        self._db = connection
        self._next_purge = float("-inf")
        self._path = path
        self._file = _file_identity(path)
        """The database file's device and inode when opened: a file replaced under a
        running process (deleted, restored from a backup) leaves it writing to the old one."""

    # -- plumbing --------------------------------------------------------------------------

    @classmethod
    def feature_schema(cls) -> tuple[str, ...]:
        """The tables of the feature mixins (``CREATE ... IF NOT EXISTS``, run at each
        start, so a feature's tables appear in an existing database without a migration)."""
        return (
            *SQLiteCallStorage.SCHEMA,
            *quotas.SCHEMA,
            *SQLiteAccountStorage.SCHEMA,
            *SQLiteWebPushStorage.SCHEMA,
        )

    @classmethod
    def feature_tables(cls) -> tuple[str, ...]:
        return (
            *SQLiteCallStorage.TABLES,
            *quotas.TABLES,
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
    def _transaction(self, *, now: float | None = None, guarded: bool = True) -> Iterator[None]:
        """One call, one savepoint in the turn's transaction (:mod:`.turns`); any exception
        (domain ones too) rolls the call's work back. A request's session check, when this
        call carries it, runs first in a savepoint of its own, kept when the work fails.
        Refused while the secrets diverged, unless not ``guarded`` (the secrets checks).
        Reads and writes alike: the turn holds the write lock."""
        if guarded and self._secrets.diverged:
            raise SecretsDiverged()
        check = armed_check() if guarded else None
        if check is not None and not check.claim():
            check.outcome_now()  # carried by an earlier call: raise if it failed
            check = None
        self.stats.round_trips += 1
        turn = self._join_turn()
        if check is not None:
            self._carry_in_turn(check, turn, now)
        elif now is not None and now >= self._next_purge:
            with self._savepoint("purging", turn):
                self._purge(now)
        with self._savepoint("work", turn):
            yield

    def _carry_in_turn(self, check: SessionCheck, turn: Turn, now: float | None) -> None:
        try:
            with self._savepoint("checking", turn):
                if now is not None and now >= self._next_purge:
                    self._purge(now)
                self._carry_check(check)
        except BaseException as error:
            check.failed(error if isinstance(error, SessionCheckFailed) else BackendError(error))
            raise
        turn.checks.append(check)

    def _purge(self, now: float) -> None:
        """Reclaim a bounded batch of expired rows; reads already ignore them."""
        self._next_purge = now + PURGE_INTERVAL
        sessions = json_list(row[0] for row in self._run(EXPIRED_SESSIONS, (now, PURGE_BATCH)))
        for sql in (DELETE_PUSH_OF, DELETE_NONCES_OF, DELETE_SESSIONS):
            self._run(sql, (sessions,))
        rooms = json_list(row[0] for row in self._run(EXPIRED_ROOMS, (now, PURGE_BATCH)))
        self._run(DELETE_PARTICIPANTS, (rooms,))
        self._run(PURGE_ROOMS, (rooms,))
        for sql in (*PURGE, quotas.PURGE):
            self._run(sql, (now, PURGE_BATCH))

    # -- lifecycle -------------------------------------------------------------------------

    async def close(self) -> None:
        self._commit_now()
        self._db.close()

    async def ping(self, *, now: float) -> bool:
        """``False`` while the secrets diverged too: the heartbeat fails."""
        if self._secrets.diverged:
            return False
        try:
            with self._transaction():
                self._run(HEARTBEAT, (now,))
            await self.turn_committed()
        except (sqlite3.Error, BackendError):
            return False
        return True

    @wrap_sqlite_error
    async def flush(self) -> None:
        with self._transaction(guarded=False):
            for table in (*TABLES, *self.feature_tables()):
                self._run(f"DELETE FROM {table}")
        self._next_purge = float("-inf")

    @wrap_sqlite_error
    async def ensure_secrets(self, candidates: Mapping[str, str]) -> dict[str, str]:
        with self._transaction():
            self._run(INSERT_SECRETS, (json.dumps(dict(candidates)),))
            rows = self._run(SELECT_SECRETS, (json.dumps(dict(candidates)),))
            return {name: value for name, value in rows}

    @wrap_sqlite_error
    async def pin_secrets(self, record: Mapping[str, str]) -> bool:
        self._secrets.pin(record)
        return self._secrets.judge(self._claim(record), check="start")

    @wrap_sqlite_error
    async def check_secrets(self) -> bool:
        """Also refuses for good once the file was replaced: writing the record into the
        old file would not make this process agree with those opening the new one."""
        record = self._secrets.record
        if record is not None and _file_identity(self._path) != self._file:
            return self._secrets.judge(None, check="file replaced")
        stored = self._claim(record or {})
        return record is None or self._secrets.judge(stored, check="periodic")

    def _claim(self, record: Mapping[str, str]) -> str | None:
        with self._transaction(guarded=False):
            self._run(INSERT_SECRETS, (json.dumps(dict(record)),))
            row = self._run(SELECT_SECRET, (FINGERPRINT,)).fetchone()
        return None if row is None else str(row[0])


def _file_identity(path: str) -> tuple[int, int] | None:
    """Device and inode of the database file; ``None`` in memory or when it is gone."""
    if path == ":memory:":
        return None
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_dev, status.st_ino


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


def create_private(path: str) -> None:
    """Create the database file readable by its owner only (0600), before SQLite would
    create it world-readable: it holds the server's secrets and every session's key.
    SQLite gives its ``-wal`` and ``-shm`` files the database file's mode."""
    if path == ":memory:":
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def open_database(path: str, *, timeout: float = DEFAULT_TIMEOUT) -> sqlite3.Connection:
    """``timeout`` (``storage.timeout``) is the busy timeout: how long a writer waits for
    another process's write lock before failing."""
    create_private(path)
    commit_open_turns()  # the schema check takes the write lock
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
        path = database_path(url)
        return SQLiteStorage(open_database(path, timeout=timeout), path)
    except sqlite3.Error as error:
        raise BackendError(error) from error
