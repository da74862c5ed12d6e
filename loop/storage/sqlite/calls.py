"""The SQLite side of :class:`loop.storage.calls.CallStorage`.

A mixin of :class:`loop.storage.sqlite.SQLiteStorage`: it uses the backend's plumbing
(``_transaction``, ``_run``) and brings its own tables in ``SCHEMA`` (created with
``IF NOT EXISTS`` at every start) and ``TABLES`` (emptied by ``flush``).

A call's progress lives in its ``calls`` row (markers as a JSON list, reason, device
counts), so each step is one short write transaction. Progress is fanned out in this
process only (:class:`~loop.storage.fanout.LocalHub`), after the commit: SQLite serves a
single process; several servers sharing calls need Redis.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from typing import Any

from loop.storage.calls import (
    Call,
    CallCreated,
    CallProgress,
    CallSubscription,
    CallUrl,
    CallUrlNotFound,
    Listener,
    NotCallUrlOwner,
    Party,
)
from loop.storage.fanout import HubSubscription, LocalHub
from loop.storage.quotas import RateLimit
from loop.storage.sqlite.errors import wrap_sqlite_error as _wrap
from loop.storage.sqlite.plumbing import SQLitePlumbing
from loop.storage.sqlite.quotas import consume

PURGE_BATCH = 100
URL_FIELDS = "token user issuer timestamp expires caller_id subject"
URL_COLUMNS = ", ".join(URL_FIELDS.split())

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS call_urls (token TEXT PRIMARY KEY, user TEXT NOT NULL,
        issuer TEXT NOT NULL, timestamp INTEGER NOT NULL, expires INTEGER NOT NULL,
        caller_id TEXT, subject TEXT)""",
    "CREATE INDEX IF NOT EXISTS call_urls_by_user ON call_urls (user, timestamp)",
    "CREATE INDEX IF NOT EXISTS call_urls_by_expiry ON call_urls (expires)",
    """CREATE TABLE IF NOT EXISTS calls (call_id TEXT PRIMARY KEY, record TEXT NOT NULL,
        timestamp INTEGER NOT NULL, expires_at REAL NOT NULL, markers TEXT NOT NULL,
        reason TEXT, callers INTEGER NOT NULL DEFAULT 0, callees INTEGER NOT NULL DEFAULT 0)""",
    "CREATE INDEX IF NOT EXISTS calls_by_expiry ON calls (expires_at)",
    """CREATE TABLE IF NOT EXISTS call_callees (user TEXT NOT NULL, call_id TEXT NOT NULL,
        timestamp INTEGER NOT NULL, PRIMARY KEY (user, call_id))""",
    "CREATE INDEX IF NOT EXISTS call_callees_by_call ON call_callees (call_id)",
)

PURGE = (
    """DELETE FROM call_urls WHERE rowid IN
        (SELECT rowid FROM call_urls WHERE expires <= :now LIMIT :batch)""",
    """DELETE FROM call_callees WHERE call_id IN
        (SELECT call_id FROM calls WHERE expires_at <= :now LIMIT :batch)""",
    """DELETE FROM calls WHERE rowid IN
        (SELECT rowid FROM calls WHERE expires_at <= :now LIMIT :batch)""",
)
INSERT_URL = f"""INSERT OR REPLACE INTO call_urls ({URL_COLUMNS})
    VALUES ({", ".join("?" * len(URL_FIELDS.split()))})"""
SELECT_URL = f"SELECT {URL_COLUMNS} FROM call_urls WHERE token = ? AND expires > ?"
LIST_URLS = f"""SELECT {URL_COLUMNS} FROM call_urls WHERE user = ? AND expires > ?
    ORDER BY timestamp, token"""
DELETE_URL = "DELETE FROM call_urls WHERE token = ?"
TARGETS = """SELECT DISTINCT push.user, push.target FROM push
    JOIN sessions ON sessions.hawk_id_hmac = push.device
    WHERE push.user IN (SELECT value FROM json_each(?)) AND push.topic = 'calls'
    AND sessions.expires_at > ? ORDER BY push.user, push.target"""
INSERT_CALL = """INSERT OR REPLACE INTO calls (call_id, record, timestamp, expires_at, markers)
    VALUES (?, ?, ?, ?, '["init"]')"""
INSERT_CALLEE = "INSERT OR REPLACE INTO call_callees (user, call_id, timestamp) VALUES (?, ?, ?)"
SELECT_CALL = "SELECT record FROM calls WHERE call_id = ? AND expires_at > ?"
LIST_CALLS = """SELECT calls.record FROM call_callees JOIN calls USING (call_id)
    WHERE call_callees.user = ? AND calls.timestamp >= ? AND calls.expires_at > ?
    AND calls.markers != '[]' ORDER BY calls.timestamp, calls.call_id"""
SELECT_PROGRESS = """SELECT markers, reason, callers, callees FROM calls
    WHERE call_id = ? AND expires_at > ?"""
UPDATE_PROGRESS = """UPDATE calls SET markers = ?, reason = ?, callers = ?, callees = ?
    WHERE call_id = ?"""

ACCOUNT_DELETION = (
    "DELETE FROM call_urls WHERE user = :user",
    """DELETE FROM calls WHERE call_id IN
        (SELECT call_id FROM call_callees WHERE user = :user)""",
    "DELETE FROM call_callees WHERE user = :user",
)
"""This concern's step of account deletion (:mod:`loop.storage.sqlite.accounts`): the
user's call URLs and the calls filed under the user."""


def _url(row: Sequence[Any]) -> CallUrl:
    return CallUrl(*row)


class _Progress:
    """A call's progress row, changed in Python inside the write transaction."""

    def __init__(self, row: Sequence[Any]) -> None:
        self.markers: list[str] = json.loads(row[0])
        self.reason: str | None = row[1]
        self.devices: dict[str, int] = {"caller": row[2], "callee": row[3]}
        self.previous = len(self.markers)

    def mark(self, marker: str, when: Collection[int]) -> None:
        if len(self.markers) in when and marker not in self.markers:
            self.markers.append(marker)

    def terminate(self, reason: str | None, when: Collection[int]) -> None:
        if self.markers and len(self.markers) in when:
            self.markers, self.reason = [], reason

    def params(self, call_id: str) -> tuple[Any, ...]:
        devices = self.devices
        return (
            json.dumps(self.markers),
            self.reason,
            devices["caller"],
            devices["callee"],
            call_id,
        )

    def result(self) -> CallProgress:
        reason = self.reason if not self.markers else None
        return CallProgress(markers=len(self.markers), previous=self.previous, reason=reason)


class SQLiteCallStorage(SQLitePlumbing):
    SCHEMA: tuple[str, ...] = SCHEMA
    TABLES: tuple[str, ...] = ("call_urls", "calls", "call_callees")

    # -- call URLs -------------------------------------------------------------------------

    @_wrap
    async def create_call_url(
        self, url: CallUrl, *, now: float, limits: Sequence[RateLimit] = ()
    ) -> None:
        with self._transaction(now=now):
            consume(self._run, limits, now)
            self._purge_calls(now)
            self._run(INSERT_URL, _url_params(url))

    @_wrap
    async def get_call_url(self, token: str, *, now: float) -> CallUrl | None:
        with self._transaction():
            row = self._run(SELECT_URL, (token, now)).fetchone()
        return None if row is None else _url(row)

    @_wrap
    async def list_call_urls(self, user: str, *, now: float) -> list[CallUrl]:
        with self._transaction():
            return [_url(row) for row in self._run(LIST_URLS, (user, now))]

    @_wrap
    async def update_call_url(self, url: CallUrl, *, now: float) -> None:
        with self._transaction(now=now):
            self._owned_url(url.token, url.user, now)
            self._run(INSERT_URL, _url_params(url))

    @_wrap
    async def delete_call_url(self, token: str, *, user: str, now: float) -> None:
        with self._transaction(now=now):
            self._owned_url(token, user, now)
            self._run(DELETE_URL, (token,))

    def _owned_url(self, token: str, user: str, now: float) -> None:
        row = self._run(SELECT_URL, (token, now)).fetchone()
        if row is None:
            raise CallUrlNotFound(token)
        if row[1] != user:
            raise NotCallUrlOwner(token)

    def _purge_calls(self, now: float) -> None:
        for sql in PURGE:
            self._run(sql, {"now": now, "batch": PURGE_BATCH})

    # -- calls -----------------------------------------------------------------------------

    @_wrap
    async def create_call(
        self,
        call: Call,
        *,
        callees: Sequence[str],
        reachable_only: bool,
        now: float,
        limits: Sequence[RateLimit] = (),
    ) -> CallCreated:
        with self._transaction(now=now):
            consume(self._run, limits, now)
            self._purge_calls(now)
            rows = self._run(TARGETS, (json.dumps(list(callees)), now)).fetchall()
            reachable = {row[0] for row in rows}
            chosen = [u for u in dict.fromkeys(callees) if not reachable_only or u in reachable]
            if not chosen:
                return CallCreated((), ())
            record = json.dumps(call.to_json())
            self._run(INSERT_CALL, (call.call_id, record, call.timestamp, call.expires_at))
            for user in chosen:
                self._run(INSERT_CALLEE, (user, call.call_id, call.timestamp))
        targets = {row[1]: json.loads(row[1]) for row in rows if row[0] in chosen}
        return CallCreated(tuple(chosen), tuple(targets.values()))

    @_wrap
    async def get_call(self, call_id: str, *, now: float) -> Call | None:
        with self._transaction():
            row = self._run(SELECT_CALL, (call_id, now)).fetchone()
        return None if row is None else Call.from_json(json.loads(row[0]))

    @_wrap
    async def list_calls(self, user: str, *, since: int, now: float) -> list[Call]:
        with self._transaction():
            rows = self._run(LIST_CALLS, (user, since, now)).fetchall()
        return [Call.from_json(json.loads(row[0])) for row in rows]

    # -- progress --------------------------------------------------------------------------

    async def join_call(
        self, call_id: str, *, party: Party, marker: str, when: Collection[int], now: float
    ) -> CallProgress | None:
        def step(progress: _Progress) -> None:
            progress.devices[party] += 1
            progress.mark(marker, when)

        return await self._step(call_id, now, step)

    async def mark_call(
        self, call_id: str, *, marker: str, when: Collection[int], now: float
    ) -> CallProgress | None:
        return await self._step(call_id, now, lambda progress: progress.mark(marker, when))

    async def terminate_call(
        self, call_id: str, *, reason: str | None, when: Collection[int], now: float
    ) -> CallProgress | None:
        return await self._step(call_id, now, lambda progress: progress.terminate(reason, when))

    async def leave_call(
        self, call_id: str, *, party: Party, reason: str, now: float
    ) -> CallProgress | None:
        def step(progress: _Progress) -> None:
            progress.devices[party] = max(0, progress.devices[party] - 1)
            if progress.devices[party] == 0:
                progress.terminate(reason, range(1, 7))

        return await self._step(call_id, now, step)

    @_wrap
    async def _step(
        self, call_id: str, now: float, change: Callable[[_Progress], None]
    ) -> CallProgress | None:
        """One progress step in one transaction, then the fan-out of what changed."""
        with self._transaction(now=now):
            row = self._run(SELECT_PROGRESS, (call_id, now)).fetchone()
            if row is None:
                return None
            progress = _Progress(row)
            change(progress)
            self._run(UPDATE_PROGRESS, progress.params(call_id))
        result = progress.result()
        if result.changed:
            self._call_hub().publish(call_id, result)
        return result

    async def subscribe_call(self, call_id: str, listener: Listener) -> CallSubscription:
        self._check_open()
        hub = self._call_hub()
        listener_id, _ = hub.add(call_id, listener)

        async def release() -> None:
            hub.remove(call_id, listener_id)

        return HubSubscription(release)

    def _call_hub(self) -> LocalHub[CallProgress]:
        hub: LocalHub[CallProgress] | None = getattr(self, "_calls_hub", None)
        if hub is None:
            hub = LocalHub[CallProgress]()
            self._calls_hub = hub
        return hub


def _url_params(url: CallUrl) -> tuple[Any, ...]:
    return (
        url.token,
        url.user,
        url.issuer,
        url.timestamp,
        url.expires,
        url.caller_id,
        url.subject,
    )
