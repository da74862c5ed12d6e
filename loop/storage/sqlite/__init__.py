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
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from loop.storage import (
    BackendError,
    JoinConflict,
    NonceReplayed,
    NotParticipant,
    NotRoomOwner,
    Participant,
    PushTarget,
    Room,
    RoomChange,
    RoomList,
    RoomNotFound,
    RoomState,
    Session,
    Storage,
    StorageError,
    Topic,
)
from loop.storage.sqlite.accounts import SQLiteAccountStorage
from loop.storage.sqlite.calls import SQLiteCallStorage
from loop.storage.sqlite.errors import wrap_sqlite_error
from loop.storage.sqlite.signalling import SQLiteSignallingStorage
from loop.storage.sqlite.statements import (
    BIND_IDENTITY,
    DELETE_NONCES_OF,
    DELETE_PARTICIPANTS,
    DELETE_PUSH_OF,
    DELETE_ROOMS,
    DELETE_SESSIONS,
    EXPIRED_ROOMS,
    EXPIRED_SESSIONS,
    HEARTBEAT,
    INSERT_PARTICIPANT,
    INSERT_ROOM,
    INSERT_SECRETS,
    INSERT_SESSION,
    LEAVE_ROOM,
    LIST_DELETED,
    LIST_PARTICIPANTS,
    LIST_ROOMS,
    LOG_DELETIONS,
    PURGE,
    PURGE_ROOMS,
    REAP,
    RECORD_NONCE,
    REFRESH_PARTICIPANT,
    ROOM_FIELDS,
    SCHEMA,
    SCHEMA_VERSION,
    SELECT_OWNER,
    SELECT_OWNERS_TARGETS,
    SELECT_PARTICIPANTS,
    SELECT_ROOM,
    SELECT_SECRETS,
    SELECT_TARGETS,
    TABLES,
    TOUCH_FOR_JOIN,
    TOUCH_ROOMS,
    TOUCH_SESSION,
    UNREGISTER_PUSH,
    UPDATABLE_FIELDS,
    UPDATE_ROOM,
    UPSERT_PUSH,
)
from loop.storage.sqlite.webpush import SQLiteWebPushStorage

PURGE_INTERVAL = 1.0
"""Seconds of the callers' clock between two purges."""
PURGE_BATCH = 2000
"""Rows of each kind one purge removes at most, so a write never stalls on a backlog. At
one purge a second this outpaces what a busy server writes (every Hawk request leaves a
nonce for two minutes: about 1,200 a second at full load)."""
BUSY_TIMEOUT = 5.0
"""How long a writer waits for another process's write lock before failing."""
LOWEST = -(2**63)


def dumps(value: Any) -> str:
    """Canonical JSON, so equal push targets are equal texts (deduplicated by SQL)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def json_list(values: Iterable[str]) -> str:
    return json.dumps(list(values))


def to_room(row: Sequence[Any]) -> Room:
    fields = dict(zip(ROOM_FIELDS, row, strict=False))
    context = fields.pop("context")
    return Room(**fields, context=json.loads(context) if context is not None else None)


def to_participant(row: Sequence[Any]) -> Participant:
    return Participant(*row[1:])


class SQLiteStorage(
    SQLiteCallStorage,
    SQLiteAccountStorage,
    SQLiteWebPushStorage,
    SQLiteSignallingStorage,
    Storage,
):
    """``stats.round_trips`` counts transactions (one per call); ``stats.commands`` counts
    the statements run in them, BEGIN and COMMIT aside, purges included."""

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

    def _targets(self, owner: str, now: float) -> tuple[PushTarget, ...]:
        rows = self._run(SELECT_TARGETS, (owner, "rooms", now))
        return tuple(json.loads(row[1]) for row in rows)

    def _change(self, owner: str, now: float) -> RoomChange:
        return RoomChange(owner=owner, version=int(now), push_targets=self._targets(owner, now))

    def _room_error(self, token: str, now: float, otherwise: StorageError) -> StorageError:
        """Why a conditional room mutation matched no row: no live room, or ``otherwise``."""
        if self._run(SELECT_OWNER, (token, now)).fetchone() is None:
            return RoomNotFound(token)
        return otherwise

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

    # -- Hawk sessions ---------------------------------------------------------------------

    @wrap_sqlite_error
    async def create_session(self, session: Session, *, now: float, ttl: float) -> None:
        with self._transaction(write=True, now=now):
            user, identity = session.user_mac, session.encrypted_identity
            params = (session.hawk_id_hmac, session.hawk_key, user, identity, now + ttl)
            self._run(INSERT_SESSION, params)

    @wrap_sqlite_error
    async def authenticate(
        self, hawk_id_hmac: str, *, nonce: str, now: float, ttl: float, nonce_ttl: float
    ) -> Session | None:
        with self._transaction(write=True, now=now):
            row = self._run(TOUCH_SESSION, (now + ttl, hawk_id_hmac, now)).fetchone()
            if row is None:
                return None
            recorded = self._run(RECORD_NONCE, (hawk_id_hmac, nonce, now + nonce_ttl, now))
            if recorded.rowcount == 0:
                raise NonceReplayed(hawk_id_hmac)
            return Session(hawk_id_hmac, *row)

    @wrap_sqlite_error
    async def bind_identity(
        self, hawk_id_hmac: str, *, user_mac: str, encrypted_identity: str, now: float, ttl: float
    ) -> None:
        with self._transaction(write=True, now=now):
            params = (user_mac, encrypted_identity, now + ttl, hawk_id_hmac, now)
            self._run(BIND_IDENTITY, params)

    @wrap_sqlite_error
    async def delete_session(self, hawk_id_hmac: str) -> None:
        with self._transaction(write=True):
            for sql in (DELETE_PUSH_OF, DELETE_NONCES_OF, DELETE_SESSIONS):
                self._run(sql, (json_list([hawk_id_hmac]),))

    # -- push registrations ----------------------------------------------------------------

    @wrap_sqlite_error
    async def register_push(
        self, session: Session, targets: Mapping[Topic, PushTarget], *, now: float, ttl: float
    ) -> None:
        """Rows carry no expiry: a target is live exactly while its device's session is."""
        encoded = json.dumps({topic: dumps(target) for topic, target in targets.items()})
        with self._transaction(write=True, now=now):
            self._run(UPSERT_PUSH, (session.user, session.hawk_id_hmac, encoded))

    @wrap_sqlite_error
    async def unregister_push(self, session: Session) -> None:
        with self._transaction(write=True):
            self._run(UNREGISTER_PUSH, (session.user, session.hawk_id_hmac))

    @wrap_sqlite_error
    async def push_targets(self, user: str, topic: Topic, *, now: float) -> list[PushTarget]:
        with self._transaction(write=False):
            return [json.loads(row[1]) for row in self._run(SELECT_TARGETS, (user, topic, now))]

    # -- rooms -----------------------------------------------------------------------------

    @wrap_sqlite_error
    async def create_room(self, room: Room, *, now: float) -> RoomChange:
        """Replaces an expired room that still holds the token; a live one is an error."""
        params = {name: getattr(room, name) for name in ROOM_FIELDS}
        params.update(context=self._context(room.context), now=now)
        with self._transaction(write=True, now=now):
            if self._run(INSERT_ROOM, params).rowcount == 0:
                raise StorageError(f"room token {room.token!r} is already in use")
            self._run(DELETE_PARTICIPANTS, (json_list([room.token]),))
            targets = self._targets(room.owner, now)
        return RoomChange(owner=room.owner, version=room.creation_time, push_targets=targets)

    @staticmethod
    def _context(context: dict[str, Any] | None) -> str | None:
        return None if context is None else dumps(context)

    @wrap_sqlite_error
    async def get_room(self, token: str, *, now: float) -> RoomState | None:
        with self._transaction(write=False):
            row = self._run(SELECT_ROOM, (token, now)).fetchone()
            if row is None:
                return None
            rows = self._run(SELECT_PARTICIPANTS, (token, now))
            participants = tuple(to_participant(p) for p in rows)
        return RoomState(room=to_room(row), participants=participants, generation=row[13])

    @wrap_sqlite_error
    async def update_room(
        self, token: str, *, owner: str, changes: Mapping[str, Any], now: float
    ) -> tuple[Room, RoomChange]:
        unknown = set(changes) - UPDATABLE_FIELDS
        if unknown:
            raise ValueError(f"not updatable room fields: {sorted(unknown)}")
        params: dict[str, Any] = {"token": token, "caller": owner, "now": now}
        for name in UPDATABLE_FIELDS:
            params[f"set_{name}"] = name in changes
            params[name] = changes.get(name)
        params["context"] = self._context(params["context"])
        with self._transaction(write=True, now=now):
            row = self._run(UPDATE_ROOM, params).fetchone()
            if row is None:
                raise self._room_error(token, now, NotRoomOwner(token))
            room = to_room(row)
            return room, self._change(owner, now)

    @wrap_sqlite_error
    async def delete_room(
        self, token: str, *, owner: str, now: float, deleted_ttl: float
    ) -> RoomChange:
        with self._transaction(write=True, now=now):
            if not self._delete_rooms([token], owner, now, deleted_ttl):
                raise self._room_error(token, now, NotRoomOwner(token))
            return self._change(owner, now)

    @wrap_sqlite_error
    async def delete_rooms(
        self, tokens: Sequence[str], *, owner: str, now: float, deleted_ttl: float
    ) -> tuple[list[str], RoomChange]:
        with self._transaction(write=True, now=now):
            deleted = self._delete_rooms(tokens, owner, now, deleted_ttl)
            return deleted, self._change(owner, now)

    def _delete_rooms(
        self, tokens: Sequence[str], owner: str, now: float, deleted_ttl: float
    ) -> list[str]:
        rows = self._run(DELETE_ROOMS, (owner, now, json_list(tokens))).fetchall()
        deleted = sorted({row[0] for row in rows})
        if deleted:
            self._run(DELETE_PARTICIPANTS, (json_list(deleted),))
            self._run(LOG_DELETIONS, (owner, now, now + deleted_ttl, json_list(deleted)))
        return deleted

    @wrap_sqlite_error
    async def list_rooms(self, owner: str, *, since: int | None, now: float) -> RoomList:
        lowest = LOWEST if since is None else since
        with self._transaction(write=False):
            rooms = self._run(LIST_ROOMS, (owner, now, lowest)).fetchall()
            people = self._run(LIST_PARTICIPANTS, (owner, now, lowest, now)).fetchall()
            deleted: tuple[str, ...] = ()
            if since is not None:
                rows = self._run(LIST_DELETED, (owner, since, now))
                deleted = tuple(row[0] for row in rows)
        by_token: dict[str, list[Participant]] = {row[0]: [] for row in rooms}
        for row in people:
            by_token[row[0]].append(to_participant(row))
        states = (RoomState(to_room(row), tuple(by_token[row[0]]), row[13]) for row in rooms)
        return RoomList(rooms=tuple(states), deleted=deleted)

    # -- participants ----------------------------------------------------------------------

    @wrap_sqlite_error
    async def join_room(
        self,
        token: str,
        participant: Participant,
        *,
        generation: int,
        now: float,
        room_expires_at: int,
        media_session: tuple[str, str] | None = None,
    ) -> RoomChange:
        session_id, api_key = media_session or (None, None)
        touch = (int(now), room_expires_at, session_id, api_key, token, now, generation)
        p = participant
        row = (token, p.id, p.connection_id, p.display_name, p.client_max_size, p.expires_at)
        with self._transaction(write=True, now=now):
            owner = self._run(TOUCH_FOR_JOIN, touch).fetchone()
            if owner is None:
                raise self._room_error(token, now, JoinConflict(token))
            self._run(INSERT_PARTICIPANT, (*row, p.user, p.account))
            return self._change(owner[0], now)

    @wrap_sqlite_error
    async def refresh_participant(
        self, token: str, participant_id: str, *, now: float, expires_at: float
    ) -> None:
        params = {"token": token, "id": participant_id, "now": now, "until": expires_at}
        with self._transaction(write=True, now=now):
            if self._run(REFRESH_PARTICIPANT, params).rowcount == 0:
                raise self._room_error(token, now, NotParticipant(participant_id))

    @wrap_sqlite_error
    async def leave_room(
        self, token: str, participant_id: str, *, now: float, room_expires_at: int
    ) -> RoomChange:
        params = {"token": token, "id": participant_id, "now": now}
        with self._transaction(write=True, now=now):
            if self._run(LEAVE_ROOM, params).rowcount == 0:
                raise self._room_error(token, now, NotParticipant(participant_id))
            touch = (int(now), room_expires_at, now, json_list([token]))
            owner = self._run(TOUCH_ROOMS, touch).fetchone()[0]
            return self._change(owner, now)

    @wrap_sqlite_error
    async def reap_participants(
        self, *, now: float, room_expires_at: int, limit: int = 500
    ) -> list[RoomChange]:
        with self._transaction(write=True, now=now):
            tokens = {row[0] for row in self._run(REAP, (now, limit)).fetchall()}
            if not tokens:
                return []
            touch = (int(now), room_expires_at, now, json_list(tokens))
            owners = [row[0] for row in self._run(TOUCH_ROOMS, touch).fetchall()]
            if not owners:
                return []
            targets: dict[str, list[PushTarget]] = {owner: [] for owner in owners}
            for user, target in self._run(
                SELECT_OWNERS_TARGETS, (json_list(targets), "rooms", now)
            ):
                targets[user].append(json.loads(target))
        version = int(now)
        return [RoomChange(owner, version, tuple(targets[owner])) for owner in owners]


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


def open_database(path: str) -> sqlite3.Connection:
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
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


async def from_url(url: str) -> Storage:
    try:
        return SQLiteStorage(open_database(database_path(url)))
    except sqlite3.Error as error:
        raise BackendError(error) from error
