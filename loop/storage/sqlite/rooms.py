"""The SQLite side of :class:`loop.storage.rooms.RoomStorage`.

A mixin of :class:`loop.storage.sqlite.SQLiteStorage`: it uses the backend's plumbing
(``_transaction``, ``_run``). Its tables (``rooms``, ``participants``, ``deleted_rooms``)
are in the core schema of :mod:`loop.storage.sqlite.statements`, which the purge also
reclaims. Conditional mutations are written optimistically (``UPDATE ... WHERE
<condition>``) and only when no row matched does a second query (:meth:`_room_error`)
find out which domain error to raise.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from loop.storage.errors import StorageError
from loop.storage.quotas import RateLimit, TooManyRooms
from loop.storage.rooms import (
    JoinConflict,
    NotParticipant,
    NotRoomOwner,
    Participant,
    Room,
    RoomChange,
    RoomList,
    RoomNotFound,
    RoomState,
)
from loop.storage.sessions import PushTarget
from loop.storage.signalling import Announcement
from loop.storage.sqlite.codec import dumps, json_list, to_participant, to_room
from loop.storage.sqlite.errors import wrap_sqlite_error
from loop.storage.sqlite.plumbing import SQLitePlumbing
from loop.storage.sqlite.quotas import consume
from loop.storage.sqlite.statements import (
    DELETE_PARTICIPANTS,
    DELETE_ROOMS,
    INSERT_PARTICIPANT,
    INSERT_ROOM,
    LEAVE_ROOM,
    LIST_DELETED,
    LIST_PARTICIPANTS,
    LIST_ROOMS,
    LOG_DELETIONS,
    REAP,
    REFRESH_PARTICIPANT,
    ROOM_FIELDS,
    SELECT_OWNER,
    SELECT_OWNERS_TARGETS,
    SELECT_PARTICIPANTS,
    SELECT_ROOM,
    SELECT_TARGETS,
    TOUCH_FOR_JOIN,
    TOUCH_ROOMS,
    UPDATABLE_FIELDS,
    UPDATE_ROOM,
)

COUNT_OWNED = "SELECT count(*) FROM rooms WHERE owner = ? AND expires_at > ?"

LOWEST = -(2**63)

ACCOUNT_DELETION = (
    """DELETE FROM participants WHERE token IN
        (SELECT token FROM rooms WHERE owner = :user)""",
    "DELETE FROM rooms WHERE owner = :user",
    "DELETE FROM deleted_rooms WHERE owner = :user",
)
"""This concern's step of account deletion (:mod:`loop.storage.sqlite.accounts`): the
rooms the user owns with their participants, and the user's deletion log."""


class SQLiteRoomStorage(SQLitePlumbing):
    if TYPE_CHECKING:

        def _announce(self, *announcements: Announcement | None) -> None:
            """The signalling mixin's: publishes after a committed change."""

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

    # -- rooms -----------------------------------------------------------------------------

    @wrap_sqlite_error
    async def create_room(
        self,
        room: Room,
        *,
        now: float,
        limits: Sequence[RateLimit] = (),
        max_rooms: int = 0,
    ) -> RoomChange:
        """Replaces an expired room that still holds the token; a live one is an error."""
        params = {name: getattr(room, name) for name in ROOM_FIELDS}
        params.update(context=self._context(room.context), now=now)
        with self._transaction(now=now):
            consume(self._run, limits, now)
            if max_rooms and self._owned(room.owner, now) >= max_rooms:
                raise TooManyRooms(room.owner)
            if self._run(INSERT_ROOM, params).rowcount == 0:
                raise StorageError(f"room token {room.token!r} is already in use")
            self._run(DELETE_PARTICIPANTS, (json_list([room.token]),))
            targets = self._targets(room.owner, now)
        return RoomChange(owner=room.owner, version=room.creation_time, push_targets=targets)

    def _owned(self, owner: str, now: float) -> int:
        count: int = self._run(COUNT_OWNED, (owner, now)).fetchone()[0]
        return count

    @staticmethod
    def _context(context: dict[str, Any] | None) -> str | None:
        return None if context is None else dumps(context)

    @wrap_sqlite_error
    async def get_room(self, token: str, *, now: float) -> RoomState | None:
        with self._transaction():
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
        with self._transaction(now=now):
            row = self._run(UPDATE_ROOM, params).fetchone()
            if row is None:
                raise self._room_error(token, now, NotRoomOwner(token))
            room = to_room(row)
            return room, self._change(owner, now)

    @wrap_sqlite_error
    async def delete_room(
        self,
        token: str,
        *,
        owner: str,
        now: float,
        deleted_ttl: float,
        announce: Announcement | None = None,
    ) -> RoomChange:
        with self._transaction(now=now):
            if not self._delete_rooms([token], owner, now, deleted_ttl):
                raise self._room_error(token, now, NotRoomOwner(token))
            change = self._change(owner, now)
        self._announce(announce)
        return change

    @wrap_sqlite_error
    async def delete_rooms(
        self,
        tokens: Sequence[str],
        *,
        owner: str,
        now: float,
        deleted_ttl: float,
        announce: Callable[[str], Announcement] | None = None,
    ) -> tuple[list[str], RoomChange]:
        with self._transaction(now=now):
            deleted = self._delete_rooms(tokens, owner, now, deleted_ttl)
            change = self._change(owner, now)
        if announce is not None:
            self._announce(*map(announce, deleted))
        return deleted, change

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
        with self._transaction():
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
        limits: Sequence[RateLimit] = (),
    ) -> RoomChange:
        session_id, api_key = media_session or (None, None)
        touch = (int(now), room_expires_at, session_id, api_key, token, now, generation)
        p = participant
        row = (token, p.id, p.connection_id, p.display_name, p.client_max_size, p.expires_at)
        with self._transaction(now=now):
            consume(self._run, limits, now)
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
        with self._transaction(now=now):
            if self._run(REFRESH_PARTICIPANT, params).rowcount == 0:
                raise self._room_error(token, now, NotParticipant(participant_id))

    @wrap_sqlite_error
    async def leave_room(
        self,
        token: str,
        participant_id: str,
        *,
        now: float,
        room_expires_at: int,
        announce: Announcement | None = None,
    ) -> RoomChange:
        params = {"token": token, "id": participant_id, "now": now}
        with self._transaction(now=now):
            if self._run(LEAVE_ROOM, params).rowcount == 0:
                raise self._room_error(token, now, NotParticipant(participant_id))
            touch = (int(now), room_expires_at, now, json_list([token]))
            owner = self._run(TOUCH_ROOMS, touch).fetchone()[0]
            change = self._change(owner, now)
        self._announce(announce)
        return change

    @wrap_sqlite_error
    async def reap_participants(
        self, *, now: float, room_expires_at: int, limit: int = 500
    ) -> list[RoomChange]:
        with self._transaction(now=now):
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
