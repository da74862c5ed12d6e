"""The gateway's SQLite backend: a file (or memory), nothing to install.

Like :mod:`loop.storage.sqlite`, each method is one short transaction run on the event
loop thread (microseconds; nothing awaits inside, so transactions never interleave).
Expired rows stay invisible (every read filters on ``expires_at > now``) and are deleted
when their key is written again or by :meth:`SQLiteGatewayStorage.hit`'s periodic purge.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from typing import TypeVar

from loop.msisdn.storage.base import (
    BindOutcome,
    CertificateRecord,
    CodeCheck,
    CodeOutcome,
    Credentials,
    GatewayStorage,
    window,
)
from loop.storage import DEFAULT_TIMEOUT
from loop.storage.sqlite import create_private, database_path
from loop.storage.sqlite.errors import wrap_sqlite_error
from loop.storage.sqlite.turns import commit_open_turns

SCHEMA = """
CREATE TABLE IF NOT EXISTS secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, hawk_key TEXT NOT NULL,
    expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS bindings (id TEXT PRIMARY KEY, msisdn_mac TEXT NOT NULL,
    cipher TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS codes (id TEXT PRIMARY KEY, code_mac TEXT NOT NULL,
    tries INTEGER NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS certificates (id TEXT PRIMARY KEY, cipher TEXT NOT NULL,
    created_at INTEGER NOT NULL, last_updated_at INTEGER NOT NULL, hawk_key TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rates (bucket TEXT PRIMARY KEY, window INTEGER NOT NULL,
    count INTEGER NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS heartbeat (id INTEGER PRIMARY KEY, at REAL NOT NULL);
"""
R = TypeVar("R")

VOLATILE = ("sessions", "bindings", "codes")
TABLES = (*VOLATILE, "certificates", "rates", "secrets", "heartbeat")


class SQLiteGatewayStorage(GatewayStorage):
    def __init__(self, path: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        create_private(path)
        commit_open_turns()  # the schema script takes the write lock
        self._db = sqlite3.connect(
            path, timeout=timeout, isolation_level=None, check_same_thread=False
        )
        if path != ":memory:":
            self._db.execute("PRAGMA journal_mode = WAL")
        self._db.executescript(SCHEMA)

    def _write(self) -> sqlite3.Connection:
        commit_open_turns()  # Loop's storage may share this file and this thread
        self._db.execute("BEGIN IMMEDIATE")
        return self._db

    def _run(self, work: Callable[[sqlite3.Connection], R]) -> R:
        """``work`` in one write transaction, rolled back if it raises."""
        db = self._write()
        try:
            result = work(db)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return result

    @wrap_sqlite_error
    async def ensure_secrets(self, candidates: Mapping[str, str]) -> dict[str, str]:
        def work(db: sqlite3.Connection) -> dict[str, str]:
            db.executemany(
                "INSERT OR IGNORE INTO secrets (name, value) VALUES (?, ?)", candidates.items()
            )
            return dict(db.execute("SELECT name, value FROM secrets").fetchall())

        return self._run(work)

    @wrap_sqlite_error
    async def create_session(
        self, hawk_id_hmac: str, *, hawk_key: str, now: float, ttl: float
    ) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO sessions (id, hawk_key, expires_at) VALUES (?, ?, ?)",
            (hawk_id_hmac, hawk_key, now + ttl),
        )

    @wrap_sqlite_error
    async def credentials(self, hawk_id_hmac: str, *, now: float) -> Credentials | None:
        row = self._db.execute(
            "SELECT hawk_key, 0 FROM sessions WHERE id = ? AND expires_at > ? "
            "UNION ALL SELECT hawk_key, 1 FROM certificates WHERE id = ? LIMIT 1",
            (hawk_id_hmac, now, hawk_id_hmac),
        ).fetchone()
        return None if row is None else Credentials(row[0], bool(row[1]))

    @wrap_sqlite_error
    async def bind(
        self,
        hawk_id_hmac: str,
        *,
        msisdn_mac: str,
        cipher_msisdn: str,
        code_mac: str,
        now: float,
        ttl: float,
        require_session: bool,
    ) -> BindOutcome:
        def work(db: sqlite3.Connection) -> BindOutcome:
            if require_session and not _alive(db, "sessions", hawk_id_hmac, now):
                return BindOutcome.NO_SESSION
            bound = db.execute(
                "SELECT msisdn_mac FROM bindings WHERE id = ? AND expires_at > ?",
                (hawk_id_hmac, now),
            ).fetchone()
            if bound is not None and bound[0] != msisdn_mac:
                return BindOutcome.OTHER_NUMBER
            db.execute(
                "INSERT OR REPLACE INTO bindings VALUES (?, ?, ?, ?)",
                (hawk_id_hmac, msisdn_mac, cipher_msisdn, now + ttl),
            )
            db.execute(
                "INSERT OR REPLACE INTO codes VALUES (?, ?, 0, ?)",
                (hawk_id_hmac, code_mac, now + ttl),
            )
            return BindOutcome.BOUND

        return self._run(work)

    @wrap_sqlite_error
    async def check_code(
        self, hawk_id_hmac: str, *, code_mac: str, hawk_key: str, now: float, max_tries: int
    ) -> CodeCheck:
        def work(db: sqlite3.Connection) -> CodeCheck:
            code = db.execute(
                "SELECT code_mac, tries FROM codes WHERE id = ? AND expires_at > ?",
                (hawk_id_hmac, now),
            ).fetchone()
            if code is None:
                return CodeCheck(CodeOutcome.NO_CODE)
            if code[0] != code_mac:
                _count_wrong_try(db, hawk_id_hmac, code[1] + 1, max_tries)
                return CodeCheck(CodeOutcome.WRONG)
            bound = db.execute(
                "SELECT cipher FROM bindings WHERE id = ? AND expires_at > ?",
                (hawk_id_hmac, now),
            ).fetchone()
            if bound is None:
                return CodeCheck(CodeOutcome.NO_MSISDN)
            stamp = int(now * 1000)
            db.execute(
                "INSERT OR REPLACE INTO certificates VALUES (?, ?, ?, ?, ?)",
                (hawk_id_hmac, bound[0], stamp, stamp, hawk_key),
            )
            _delete(db, VOLATILE, hawk_id_hmac)
            return CodeCheck(CodeOutcome.VERIFIED, bound[0])

        return self._run(work)

    @wrap_sqlite_error
    async def use_certificate(self, hawk_id_hmac: str, *, now: float) -> CertificateRecord | None:
        row = self._db.execute(
            "UPDATE certificates SET last_updated_at = ? WHERE id = ? "
            "RETURNING cipher, created_at, last_updated_at, hawk_key",
            (int(now * 1000), hawk_id_hmac),
        ).fetchone()
        return None if row is None else CertificateRecord(*row)

    @wrap_sqlite_error
    async def unregister(self, hawk_id_hmac: str) -> None:
        self._run(lambda db: _delete(db, (*VOLATILE, "certificates"), hawk_id_hmac))

    @wrap_sqlite_error
    async def hit(self, bucket: str, *, now: float, period: float) -> tuple[int, float]:
        index, end = window(now, period)
        row = self._db.execute(
            "INSERT INTO rates VALUES (?, ?, 1, ?) ON CONFLICT (bucket) DO UPDATE SET "
            "count = CASE WHEN window = excluded.window THEN count + 1 ELSE 1 END, "
            "window = excluded.window, expires_at = excluded.expires_at RETURNING count",
            (bucket, index, end),
        ).fetchone()
        if index % 64 == 0:
            self._db.execute("DELETE FROM rates WHERE expires_at <= ?", (now,))
        return int(row[0]), end

    @wrap_sqlite_error
    async def ping(self, *, now: float) -> bool:
        try:
            self._db.execute("INSERT OR REPLACE INTO heartbeat VALUES (1, ?)", (now,))
        except sqlite3.Error:
            return False
        return True

    @wrap_sqlite_error
    async def flush(self) -> None:
        self._run(lambda db: [db.execute(f"DELETE FROM {table}") for table in TABLES])

    async def close(self) -> None:
        self._db.close()


def _alive(db: sqlite3.Connection, table: str, hawk_id_hmac: str, now: float) -> bool:
    query = f"SELECT 1 FROM {table} WHERE id = ? AND expires_at > ?"
    return db.execute(query, (hawk_id_hmac, now)).fetchone() is not None


def _count_wrong_try(
    db: sqlite3.Connection, hawk_id_hmac: str, tries: int, max_tries: int
) -> None:
    if tries >= max_tries:
        db.execute("DELETE FROM codes WHERE id = ?", (hawk_id_hmac,))
    else:
        db.execute("UPDATE codes SET tries = ? WHERE id = ?", (tries, hawk_id_hmac))


def _delete(db: sqlite3.Connection, tables: tuple[str, ...], hawk_id_hmac: str) -> None:
    for table in tables:
        db.execute(f"DELETE FROM {table} WHERE id = ?", (hawk_id_hmac,))


def from_url(url: str, *, timeout: float = DEFAULT_TIMEOUT) -> SQLiteGatewayStorage:
    """``sqlite:///relative.db``, ``sqlite:////absolute.db`` or ``sqlite://:memory:``, read
    by the one parser the Loop server's storage uses; ``timeout`` is the busy timeout."""
    return SQLiteGatewayStorage(database_path(url), timeout=timeout)
