"""Storage for rooms and their participants (loop-api.md §4.12, §5).

Part of the :class:`~loop.storage.Storage` interface; each backend implements it in its own
``rooms`` module (``loop/storage/sqlite/rooms.py``, ``loop/storage/redis/rooms.py``), and
``loop/storage/testing/rooms.py`` holds its contract.

Methods are shaped after what an endpoint needs: a mutation that must notify the room
owner returns the owner's ``rooms`` push targets (:class:`RoomChange`) in the same call,
and reads return a whole room with its live participants (:class:`RoomState`).
Participants are soft state: each lives until its ``expires_at`` unless refreshed, and
:meth:`RoomStorage.reap_participants` reports the rooms whose participants dropped out.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from loop.storage.errors import StorageError
from loop.storage.memory import BoundedMemory
from loop.storage.quotas import RateLimit
from loop.storage.sessions import PushTarget
from loop.storage.signalling import Announcement


class RoomNotFound(StorageError):
    """No live room has that token."""


class NotRoomOwner(StorageError):
    """The room exists but belongs to another user."""


class NotParticipant(StorageError):
    """The room exists but has no live participant with that id."""


class JoinConflict(StorageError):
    """The room's participants changed since the caller read them; read again and retry."""


@dataclasses.dataclass(frozen=True, slots=True)
class Room:
    token: str
    owner: str
    """The owner's user key (``roomOwnerHmac``)."""
    room_owner: str
    """The owner's display name as the client sent it."""
    max_size: int
    expires_in: int
    """Hours, as last requested."""
    creation_time: int
    update_time: int
    expires_at: int
    channel: str
    session_id: str
    api_key: str
    room_name: str | None = None
    context: dict[str, Any] | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Participant:
    id: str
    """The device's hawkIdHmac, or HMAC(userMacSecret, media token) for anonymous joiners."""
    connection_id: str
    """``roomConnectionId``: a fresh UUID4 on every join."""
    display_name: str
    client_max_size: int
    expires_at: float
    user: str | None = None
    """The joiner's user key; ``None`` for anonymous link-clickers."""
    account: str | None = None
    """The joiner's identity, encrypted with the room's key (registered joiners only)."""


@dataclasses.dataclass(frozen=True, slots=True)
class RoomState:
    """A live room with its live participants (joined order) and their generation.

    ``generation`` changes whenever a participant joins or the room is updated;
    :meth:`RoomStorage.join_room` takes it back so a join decided on stale participants
    (or a stale ``max_size``) is refused (:class:`JoinConflict`).
    """

    room: Room
    participants: tuple[Participant, ...]
    generation: int


@dataclasses.dataclass(frozen=True, slots=True)
class RoomChange:
    """What a room mutation reports back so the owner can be notified without a read."""

    owner: str
    version: int
    push_targets: tuple[PushTarget, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class RoomList:
    rooms: tuple[RoomState, ...]
    """Sorted by ``update_time`` ascending (ties by token)."""
    deleted: tuple[str, ...]
    """Tokens of rooms the user deleted at or after ``since`` (only when ``since`` given)."""


RECENT_ROOMS = 10_000
"""Rooms a process remembers for joins (:class:`RecentRooms`); past it the oldest goes."""


class RecentRooms(BoundedMemory[RoomState]):
    """The rooms this process last read or changed, so that a join can be decided
    without reading its room again (one storage call instead of two).

    Never trusted for more than deciding a seat: ``join_room`` refuses a decision made on
    another generation (every join and every update moves it), and what does not move
    it (leaves, lapsed participants) only makes a remembered room look fuller, so a seat
    it grants is a seat the room has; a refusal is decided again on a fresh read."""

    def __init__(self, capacity: int = RECENT_ROOMS) -> None:
        super().__init__(capacity)

    def remember(self, state: RoomState) -> None:
        self.put(state.room.token, state)


class RoomStorage(abc.ABC):
    """Rooms, their deletion log, and their participants."""

    recent_rooms: RecentRooms
    """Kept by the rooms domain (:class:`RecentRooms`); the storage itself never reads it."""

    # -- rooms -----------------------------------------------------------------------------

    @abc.abstractmethod
    async def create_room(
        self,
        room: Room,
        *,
        now: float,
        limits: Sequence[RateLimit] = (),
        max_rooms: int = 0,
    ) -> RoomChange:
        """Store a new room (token unique) alive until ``room.expires_at``, counted in
        ``limits`` (:class:`~loop.storage.quotas.RateLimited` when one is full). With
        ``max_rooms`` (0: no cap), :class:`~loop.storage.quotas.TooManyRooms` when the
        owner already has that many live rooms."""

    @abc.abstractmethod
    async def get_room(self, token: str, *, now: float) -> RoomState | None:
        """The live room with its live participants, or ``None``."""

    @abc.abstractmethod
    async def update_room(
        self, token: str, *, owner: str, changes: Mapping[str, Any], now: float
    ) -> tuple[Room, RoomChange]:
        """Apply ``changes`` (a mapping of :class:`Room` field names to new values, which
        must include ``update_time``) to the owner's live room. Without ``expires_at`` the
        room keeps its current expiry, whatever a concurrent join set it to (D9).

        Raises :class:`RoomNotFound`, then :class:`NotRoomOwner`. Returns the updated room.
        """

    @abc.abstractmethod
    async def delete_room(
        self,
        token: str,
        *,
        owner: str,
        now: float,
        deleted_ttl: float,
        announce: Announcement | None = None,
    ) -> RoomChange:
        """Delete the owner's room, its participants and context, and log the deletion
        (kept ``deleted_ttl`` seconds; the first deletion time wins) for
        :meth:`list_rooms`; then publish ``announce``. Raises :class:`RoomNotFound`, then
        :class:`NotRoomOwner` (and publishes nothing)."""

    @abc.abstractmethod
    async def delete_rooms(
        self,
        tokens: Sequence[str],
        *,
        owner: str,
        now: float,
        deleted_ttl: float,
        announce: Callable[[str], Announcement] | None = None,
    ) -> tuple[list[str], RoomChange]:
        """Delete those of ``tokens`` that are live rooms of ``owner`` (as
        :meth:`delete_room` does) in one operation, publishing ``announce(token)`` for
        each room deleted (never for another owner's); returns the deleted tokens."""

    @abc.abstractmethod
    async def list_rooms(self, owner: str, *, since: int | None, now: float) -> RoomList:
        """The owner's live rooms, with ``update_time >= since`` when ``since`` is given,
        plus the tokens deleted at or after ``since`` (still in the deletion log)."""

    # -- participants ----------------------------------------------------------------------

    @abc.abstractmethod
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
        """Add ``participant`` (replacing any with the same id) if the room's participant
        generation is still ``generation``; then touch the room (``update_time = now``,
        ``expires_at = room_expires_at``) and, when given, store ``media_session``
        (``(session_id, api_key)``). Raises :class:`~loop.storage.quotas.RateLimited`
        (a window of ``limits`` is full), then :class:`RoomNotFound` or
        :class:`JoinConflict`; a join made is counted in ``limits``.
        """

    @abc.abstractmethod
    async def refresh_participant(
        self, token: str, participant_id: str, *, now: float, expires_at: float
    ) -> None:
        """Extend a live participant. Raises :class:`RoomNotFound`, :class:`NotParticipant`."""

    @abc.abstractmethod
    async def leave_room(
        self,
        token: str,
        participant_id: str,
        *,
        now: float,
        room_expires_at: int,
        announce: Announcement | None = None,
    ) -> RoomChange:
        """Remove a live participant and touch the room as :meth:`join_room` does, then
        publish ``announce``. Raises :class:`RoomNotFound`, :class:`NotParticipant` (and
        publishes nothing)."""

    @abc.abstractmethod
    async def reap_participants(
        self, *, now: float, room_expires_at: int, limit: int = 500
    ) -> list[RoomChange]:
        """Remove up to ``limit`` participants whose ``expires_at <= now`` and touch each
        affected live room once; returns one change per touched room.

        Atomic per participant: when several processes reap concurrently, each expired
        participant is reported by exactly one of them. Called every second or so, this
        is how owners learn of participants who silently dropped out.
        """
