"""The SQLite side of :class:`loop.storage.admin.AdminStorage`.

A mixin of :class:`loop.storage.sqlite.SQLiteStorage` reading and writing the other
concerns' tables directly: the dump records (:mod:`loop.storage.admin`) are those tables'
rows, regrouped (a session with its push rows, nonces and OAuth row; a room with its
participants). Exports read in one transaction, so the dump is a consistent snapshot;
imports write each batch in one transaction.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Generator, Sequence
from typing import Any

from loop.storage.admin import Activity, Record, StoreFigures, expires_at
from loop.storage.errors import BackendError
from loop.storage.sqlite.codec import dumps, to_participant, to_room
from loop.storage.sqlite.errors import wrap_sqlite_error as _wrap
from loop.storage.sqlite.plumbing import SQLitePlumbing
from loop.storage.sqlite.statements import PARTICIPANT_COLUMNS, ROOM_COLUMNS, ROOM_FIELDS

LIVE_PUSH = """FROM push JOIN sessions ON sessions.hawk_id_hmac = push.device
    WHERE sessions.expires_at > :now"""
LIVE_PARTICIPANTS = """FROM participants p JOIN rooms r ON r.token = p.token
    WHERE r.expires_at > :now AND p.expires_at > :now"""
FIGURES = {
    "users": """SELECT count(DISTINCT user_mac) FROM sessions
        WHERE user_mac IS NOT NULL AND expires_at > :now""",
    "sessions": "SELECT count(*) FROM sessions WHERE expires_at > :now",
    "rooms": "SELECT count(*) FROM rooms WHERE expires_at > :now",
    "participants": f"SELECT count(*) {LIVE_PARTICIPANTS}",
    "calls": "SELECT count(*) FROM calls WHERE expires_at > :now",
    "call_urls": "SELECT count(*) FROM call_urls WHERE expires > :now",
    "push_registrations": f"SELECT count(*) {LIVE_PUSH}",
}
PURGES = {
    # Rate-limit windows are left to the in-band purge of the concern that owns them.
    "push registrations": """DELETE FROM push WHERE device NOT IN
        (SELECT hawk_id_hmac FROM sessions WHERE expires_at > :now)""",
    "nonces": """DELETE FROM nonces WHERE expires_at <= :now OR hawk_id_hmac NOT IN
        (SELECT hawk_id_hmac FROM sessions WHERE expires_at > :now)""",
    "oauth records": """DELETE FROM oauth WHERE expires_at <= :now OR hawk_id_hmac NOT IN
        (SELECT hawk_id_hmac FROM sessions WHERE expires_at > :now)""",
    "sessions": "DELETE FROM sessions WHERE expires_at <= :now",
    "participants": """DELETE FROM participants WHERE expires_at <= :now OR token NOT IN
        (SELECT token FROM rooms WHERE expires_at > :now)""",
    "rooms": "DELETE FROM rooms WHERE expires_at <= :now",
    "deleted-room entries": "DELETE FROM deleted_rooms WHERE expires_at <= :now",
    "call URLs": "DELETE FROM call_urls WHERE expires <= :now",
    "call index entries": """DELETE FROM call_callees WHERE call_id NOT IN
        (SELECT call_id FROM calls WHERE expires_at > :now)""",
    "calls": "DELETE FROM calls WHERE expires_at <= :now",
}
HOLDS_DATA = """SELECT EXISTS (SELECT 1 FROM sessions) OR EXISTS (SELECT 1 FROM rooms)
    OR EXISTS (SELECT 1 FROM deleted_rooms) OR EXISTS (SELECT 1 FROM call_urls)
    OR EXISTS (SELECT 1 FROM calls)"""

ACTIVITY = """SELECT count(DISTINCT p.token), count(*) FROM participants p
    JOIN rooms r ON r.token = p.token WHERE p.expires_at > :now AND r.expires_at > :now"""

DATABASE_FILE = "PRAGMA database_list"
"""``(seq, name, file)`` rows; ``file`` is empty for an in-memory database."""

EXPORT_SECRETS = "SELECT name, value FROM secrets ORDER BY name"
EXPORT_SESSIONS = """SELECT hawk_id_hmac, hawk_key, user_mac, encrypted_identity, expires_at
    FROM sessions WHERE expires_at > ? ORDER BY hawk_id_hmac"""
EXPORT_PUSH = "SELECT user, topic, target FROM push WHERE device = ? ORDER BY user, topic"
EXPORT_NONCES = """SELECT nonce, expires_at FROM nonces
    WHERE hawk_id_hmac = ? AND expires_at > ? ORDER BY nonce"""
EXPORT_OAUTH = """SELECT state, state_expires_at, token, token_expires_at FROM oauth
    WHERE hawk_id_hmac = ? AND expires_at > ?"""
EXPORT_ROOMS = f"""SELECT {ROOM_COLUMNS}, generation FROM rooms WHERE expires_at > ?
    ORDER BY token"""
EXPORT_PARTICIPANTS = f"""SELECT p.token, {PARTICIPANT_COLUMNS} FROM participants p
    WHERE p.token = ? AND p.expires_at > ? ORDER BY p.seq"""
EXPORT_DELETED = """SELECT owner, token, deleted_at, expires_at FROM deleted_rooms
    WHERE expires_at > ? ORDER BY owner, token"""
EXPORT_URLS = """SELECT token, user, issuer, timestamp, expires, caller_id, subject
    FROM call_urls WHERE expires > ? ORDER BY token"""
EXPORT_CALLS = """SELECT call_id, record, markers, reason, callers, callees FROM calls
    WHERE expires_at > ? ORDER BY call_id"""
EXPORT_CALLEES = "SELECT user FROM call_callees WHERE call_id = ? ORDER BY user"

IMPORT_SECRET = "INSERT OR REPLACE INTO secrets (name, value) VALUES (?, ?)"
IMPORT_SESSION = """INSERT OR REPLACE INTO sessions
    (hawk_id_hmac, hawk_key, user_mac, encrypted_identity, expires_at) VALUES (?, ?, ?, ?, ?)"""
IMPORT_PUSH = "INSERT OR REPLACE INTO push (user, device, topic, target) VALUES (?, ?, ?, ?)"
IMPORT_NONCE = "INSERT OR REPLACE INTO nonces (hawk_id_hmac, nonce, expires_at) VALUES (?, ?, ?)"
IMPORT_OAUTH = """INSERT OR REPLACE INTO oauth (hawk_id_hmac, state, state_expires_at, token,
    token_expires_at, expires_at) VALUES (?, ?, ?, ?, ?, max(?, ?))"""
IMPORT_ROOM = f"""INSERT OR REPLACE INTO rooms ({ROOM_COLUMNS}, generation)
    VALUES ({", ".join("?" * (len(ROOM_FIELDS) + 1))})"""
CLEAR_PARTICIPANTS = "DELETE FROM participants WHERE token = ?"
IMPORT_PARTICIPANT = f"""INSERT INTO participants
    (token, {PARTICIPANT_COLUMNS.replace("p.", "")}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"""
IMPORT_DELETED = """INSERT OR REPLACE INTO deleted_rooms (owner, token, deleted_at, expires_at)
    VALUES (?, ?, ?, ?)"""
IMPORT_URL = """INSERT OR REPLACE INTO call_urls
    (token, user, issuer, timestamp, expires, caller_id, subject) VALUES (?, ?, ?, ?, ?, ?, ?)"""
IMPORT_CALL = """INSERT OR REPLACE INTO calls
    (call_id, record, timestamp, expires_at, markers, reason, callers, callees)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)"""
CLEAR_CALLEES = "DELETE FROM call_callees WHERE call_id = ?"
IMPORT_CALLEE = "INSERT OR REPLACE INTO call_callees (user, call_id, timestamp) VALUES (?, ?, ?)"


class SQLiteAdminStorage(SQLitePlumbing):
    @_wrap
    async def figures(self, *, now: float) -> StoreFigures:
        with self._transaction():
            counts = {
                name: self._run(sql, {"now": now}).fetchone()[0] for name, sql in FIGURES.items()
            }
        return StoreFigures(backend="sqlite", size_bytes=self._size(), **counts)

    def _size(self) -> int:
        """The database and its write-ahead log, as the disk holds them."""
        path = next((row[2] for row in self._db.execute(DATABASE_FILE) if row[1] == "main"), "")
        if not path:
            return 0
        files = (path, f"{path}-wal", f"{path}-shm")
        return sum(os.path.getsize(name) for name in files if os.path.exists(name))

    @_wrap
    async def activity(self, *, now: float) -> Activity:
        with self._transaction():
            rooms, participants = self._run(ACTIVITY, {"now": now}).fetchone()
        return Activity(rooms=rooms, participants=participants)

    @_wrap
    async def purge_expired(self, *, now: float) -> dict[str, int]:
        with self._transaction():
            removed = {name: self._run(sql, {"now": now}).rowcount for name, sql in PURGES.items()}
        return {name: count for name, count in removed.items() if count}

    @_wrap
    async def holds_data(self, *, now: float) -> bool:
        with self._transaction():
            return bool(self._run(HOLDS_DATA).fetchone()[0])

    async def export_records(self, *, now: float) -> AsyncIterator[Record]:
        snapshot = self._snapshot(now)
        try:
            for record in snapshot:
                yield record
        except sqlite3.Error as error:
            raise BackendError(error) from error
        finally:
            snapshot.close()  # ends the read transaction when the reader stops early

    def _snapshot(self, now: float) -> Generator[Record, None, None]:
        """One read transaction around the whole dump: a consistent snapshot (WAL lets the
        server keep writing meanwhile)."""
        with self._transaction():
            for name, value in self._run(EXPORT_SECRETS).fetchall():
                yield {"kind": "secret", "name": name, "value": value}
            for row in self._run(EXPORT_SESSIONS, (now,)).fetchall():
                yield self._session(row, now)
            for row in self._run(EXPORT_ROOMS, (now,)).fetchall():
                yield self._room(row, now)
            for owner, token, deleted_at, until in self._run(EXPORT_DELETED, (now,)).fetchall():
                yield {
                    "kind": "deleted_room",
                    **{"owner": owner, "token": token},
                    **{"deleted_at": deleted_at, "expires_at": until},
                }
            for row in self._run(EXPORT_URLS, (now,)).fetchall():
                names = ("token", "user", "issuer", "timestamp", "expires", "caller_id", "subject")
                yield {"kind": "call_url", **dict(zip(names, row, strict=True))}
            for row in self._run(EXPORT_CALLS, (now,)).fetchall():
                yield self._call(row)

    def _session(self, row: Sequence[Any], now: float) -> Record:
        device = row[0]
        push = self._run(EXPORT_PUSH, (device,)).fetchall()
        nonces = self._run(EXPORT_NONCES, (device, now)).fetchall()
        oauth = self._run(EXPORT_OAUTH, (device, now)).fetchone()
        names = ("state", "state_expires_at", "token", "token_expires_at")
        return {
            "kind": "session",
            **dict(
                zip(("device", "hawk_key", "user_mac", "encrypted_identity"), row, strict=False)
            ),
            "expires_at": row[4],
            "push": [
                {"user": u, "topic": t, "target": json.loads(target)} for u, t, target in push
            ],
            "nonces": [{"member": member, "expires_at": until} for member, until in nonces],
            "oauth": None if oauth is None else dict(zip(names, oauth, strict=True)),
        }

    def _room(self, row: Sequence[Any], now: float) -> Record:
        room = to_room(row)
        rows = self._run(EXPORT_PARTICIPANTS, (room.token, now)).fetchall()
        participants = [dict(vars_of(to_participant(p))) for p in rows]
        return {
            "kind": "room",
            **vars_of(room),
            "generation": row[len(ROOM_FIELDS)],
            "participants": participants,
        }

    def _call(self, row: Sequence[Any]) -> Record:
        call_id, record, markers, reason, callers, callees = row
        users = [user for (user,) in self._run(EXPORT_CALLEES, (call_id,)).fetchall()]
        return {
            "kind": "call",
            "call": json.loads(record),
            "users": users,
            "markers": sorted(json.loads(markers)),
            "reason": reason,
            **{"callers": callers, "callees": callees},
        }

    @_wrap
    async def import_records(self, records: Sequence[Record], *, now: float) -> None:
        with self._transaction():
            for record in records:
                if expires_at(record) > now:
                    self._importers[record["kind"]](self, record, now)

    def _import_secret(self, record: Record, now: float) -> None:
        self._run(IMPORT_SECRET, (record["name"], record["value"]))

    def _import_session(self, r: Record, now: float) -> None:
        device = r["device"]
        fields = (r["hawk_key"], r["user_mac"], r["encrypted_identity"], r["expires_at"])
        self._run(IMPORT_SESSION, (device, *fields))
        for push in r["push"]:
            self._run(IMPORT_PUSH, (push["user"], device, push["topic"], dumps(push["target"])))
        for nonce in (n for n in r["nonces"] if n["expires_at"] > now):
            self._run(IMPORT_NONCE, (device, nonce["member"], nonce["expires_at"]))
        if (o := r["oauth"]) is not None:
            state, token = o["state_expires_at"], o["token_expires_at"]
            self._run(IMPORT_OAUTH, (device, o["state"], state, o["token"], token, state, token))

    def _import_room(self, r: Record, now: float) -> None:
        context = None if r["context"] is None else dumps(r["context"])
        values = [context if name == "context" else r[name] for name in ROOM_FIELDS]
        self._run(IMPORT_ROOM, (*values, r["generation"]))
        self._run(CLEAR_PARTICIPANTS, (r["token"],))
        for p in (p for p in r["participants"] if p["expires_at"] > now):
            fields = ("id", "connection_id", "display_name", "client_max_size", "expires_at")
            self._run(
                IMPORT_PARTICIPANT, (r["token"], *(p[f] for f in fields), p["user"], p["account"])
            )

    def _import_deleted_room(self, r: Record, now: float) -> None:
        self._run(IMPORT_DELETED, (r["owner"], r["token"], r["deleted_at"], r["expires_at"]))

    def _import_call_url(self, r: Record, now: float) -> None:
        names = ("token", "user", "issuer", "timestamp", "expires", "caller_id", "subject")
        self._run(IMPORT_URL, tuple(r[name] for name in names))

    def _import_call(self, r: Record, now: float) -> None:
        call = r["call"]
        call_id, timestamp = call["call_id"], call["timestamp"]
        markers = json.dumps(r["markers"])
        counts = (r["reason"], r["callers"], r["callees"])
        self._run(
            IMPORT_CALL, (call_id, dumps(call), timestamp, call["expires_at"], markers, *counts)
        )
        self._run(CLEAR_CALLEES, (call_id,))
        for user in r["users"]:
            self._run(IMPORT_CALLEE, (user, call_id, timestamp))

    _importers: dict[str, Callable[[SQLiteAdminStorage, Record, float], None]] = {
        "secret": _import_secret,
        "session": _import_session,
        "room": _import_room,
        "deleted_room": _import_deleted_room,
        "call_url": _import_call_url,
        "call": _import_call,
    }


def vars_of(record: Any) -> dict[str, Any]:
    """A slotted dataclass's fields as a dict (``dataclasses.asdict`` without deep copies)."""
    return {name: getattr(record, name) for name in record.__dataclass_fields__}
