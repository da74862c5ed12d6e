"""The SQLite side of :class:`loop.storage.accounts.AccountStorage`.

A mixin of :class:`loop.storage.sqlite.SQLiteStorage`: it uses the backend's plumbing
(``_transaction``, ``_run``) and brings its own tables in ``SCHEMA`` (created with
``IF NOT EXISTS`` at every start) and ``TABLES`` (emptied by ``flush``).

One ``oauth`` row per OAuth session; its ``expires_at`` (the later of the state's and the
token's) lets writes reclaim dead rows in small batches, as the core purge does for its
tables. Account deletion runs every concern's step (:data:`ACCOUNT_DELETION_STEPS`).
"""

from __future__ import annotations

import json

from loop.storage.accounts import OAuthRecord
from loop.storage.sqlite import calls, rooms, sessions
from loop.storage.sqlite.errors import wrap_sqlite_error as _wrap
from loop.storage.sqlite.plumbing import SQLitePlumbing

PURGE_BATCH = 100

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS oauth (hawk_id_hmac TEXT PRIMARY KEY, state TEXT,
        state_expires_at REAL NOT NULL DEFAULT 0, token TEXT,
        token_expires_at REAL NOT NULL DEFAULT 0, expires_at REAL NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS oauth_by_expiry ON oauth (expires_at)",
    "CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions (user_mac)",
)

PURGE_OAUTH = """DELETE FROM oauth WHERE rowid IN
    (SELECT rowid FROM oauth WHERE expires_at <= ? LIMIT ?)"""
START_OAUTH = """INSERT INTO oauth (hawk_id_hmac, state, state_expires_at, expires_at)
    VALUES (:id, :state, :until, :until)
    ON CONFLICT (hawk_id_hmac) DO UPDATE SET state = excluded.state,
    state_expires_at = excluded.state_expires_at,
    expires_at = max(oauth.expires_at, excluded.expires_at)
    WHERE oauth.state_expires_at <= :now"""
SELECT_OAUTH = """SELECT state, state_expires_at, token, token_expires_at FROM oauth
    WHERE hawk_id_hmac = ?"""
ROTATE_STATE = """UPDATE oauth SET state = :state, state_expires_at = :until,
    expires_at = max(expires_at, :until)
    WHERE hawk_id_hmac = :id AND state_expires_at > :now"""
SET_TOKEN = """INSERT INTO oauth (hawk_id_hmac, token, token_expires_at, expires_at)
    VALUES (:id, :token, :until, :until)
    ON CONFLICT (hawk_id_hmac) DO UPDATE SET token = excluded.token,
    token_expires_at = excluded.token_expires_at,
    expires_at = max(oauth.expires_at, excluded.expires_at)"""

ACCOUNT_SESSIONS = """SELECT hawk_id_hmac FROM sessions
    WHERE user_mac = :user OR hawk_id_hmac = :device"""

ACCOUNT_DELETION_STEPS = (
    ("DELETE FROM oauth WHERE hawk_id_hmac IN (SELECT value FROM json_each(:devices))",),
    sessions.ACCOUNT_DELETION,
    rooms.ACCOUNT_DELETION,
    calls.ACCOUNT_DELETION,
)
"""What forgetting a user removes: one step per concern that files data under a user
(this one's OAuth records first), run in this order in one transaction with the named
parameters ``:user``, ``:devices`` (a JSON list of the user's devices and the caller's)
and ``:now``. A concern that keeps per-user data adds its step here."""


class SQLiteAccountStorage(SQLitePlumbing):
    SCHEMA: tuple[str, ...] = SCHEMA
    TABLES: tuple[str, ...] = ("oauth",)

    @_wrap
    async def start_oauth(self, hawk_id_hmac: str, *, state: str, now: float, ttl: float) -> str:
        params = {"id": hawk_id_hmac, "state": state, "until": now + ttl, "now": now}
        with self._transaction(now=now):
            self._run(PURGE_OAUTH, (now, PURGE_BATCH))
            self._run(START_OAUTH, params)
            row = self._run(SELECT_OAUTH, (hawk_id_hmac,)).fetchone()
        stored: str = row[0]
        return stored

    @_wrap
    async def get_oauth(self, hawk_id_hmac: str, *, now: float) -> OAuthRecord | None:
        with self._transaction():
            row = self._run(SELECT_OAUTH, (hawk_id_hmac,)).fetchone()
        if row is None or row[0] is None or row[1] <= now:
            return None
        return OAuthRecord(state=row[0], token=row[2] if row[3] > now else None)

    @_wrap
    async def rotate_oauth_state(
        self, hawk_id_hmac: str, *, state: str, now: float, ttl: float
    ) -> str | None:
        params = {"id": hawk_id_hmac, "state": state, "until": now + ttl, "now": now}
        with self._transaction(now=now):
            row = self._run(SELECT_OAUTH, (hawk_id_hmac,)).fetchone()
            if row is None or row[0] is None or row[1] <= now:
                return None
            self._run(ROTATE_STATE, params)
        previous: str = row[0]
        return previous

    @_wrap
    async def set_oauth_token(
        self, hawk_id_hmac: str, *, token: str, now: float, ttl: float
    ) -> None:
        params = {"id": hawk_id_hmac, "token": token, "until": now + ttl}
        with self._transaction(now=now):
            self._run(SET_TOKEN, params)

    @_wrap
    async def delete_account(self, user: str, *, hawk_id_hmac: str, now: float) -> None:
        with self._transaction(now=now):
            rows = self._run(ACCOUNT_SESSIONS, {"user": user, "device": hawk_id_hmac})
            devices = json.dumps([hawk_id_hmac, *(row[0] for row in rows)])
            params = {"user": user, "devices": devices, "now": now}
            for step in ACCOUNT_DELETION_STEPS:
                for sql in step:
                    self._run(sql, params)
