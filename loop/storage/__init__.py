"""The storage interface every backend implements, and the records it keeps.

Design rules shared by all backends (the contract suite in :mod:`loop.storage.testing`
checks them):

* **Time is an argument.** Every method that reads or writes something with a lifetime takes
  ``now`` (Unix seconds, fractional allowed) from the caller's clock. A record is alive while
  ``now < expires_at``; an expired record is never returned, even if the backend has not
  garbage-collected it yet. Backends may use native TTLs (Redis) or periodic purges
  (SQLite) to reclaim space, but visibility is decided by ``expires_at`` alone, so both
  backends behave identically and tests can move time.
* **One request, one or two round trips.** Methods are shaped after what an endpoint needs,
  not after tables: a mutation that must notify the room owner returns the owner's push
  targets in the same call, and reads return a whole room with its live participants.
* **Errors are ours.** Driver exceptions never escape: every public method turns them into
  :class:`BackendError`, which the HTTP layer answers with 503 errno 201.
* **Domain outcomes are exceptions.** ``RoomNotFound``, ``NotRoomOwner``, ``NotParticipant``,
  ``JoinConflict`` and ``NonceReplayed`` say why a conditional mutation did not happen;
  nothing was changed when one is raised.
"""

from __future__ import annotations

import abc
import dataclasses
import importlib
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from loop.storage.accounts import AccountStorage
from loop.storage.calls import CallStorage
from loop.storage.exceptions import BackendError as BackendError
from loop.storage.exceptions import StorageError as StorageError
from loop.storage.signalling import SignallingStorage
from loop.storage.webpush import WebPushStorage

Topic = Literal["calls", "rooms"]
TOPICS: tuple[Topic, ...] = ("calls", "rooms")

PushTarget = str | dict[str, Any]
"""A SimplePush URL, or a Web Push subscription ``{"endpoint", "keys": {...}}``. Opaque to
storage, which keeps it as JSON and deduplicates by value."""


class RoomNotFound(StorageError):
    """No live room has that token."""


class NotRoomOwner(StorageError):
    """The room exists but belongs to another user."""


class NotParticipant(StorageError):
    """The room exists but has no live participant with that id."""


class JoinConflict(StorageError):
    """The room's participants changed since the caller read them; read again and retry."""


class NonceReplayed(StorageError):
    """This Hawk nonce was already used by this session within the timestamp window."""


@dataclasses.dataclass(frozen=True, slots=True)
class Session:
    """A Hawk session. ``user_mac`` is set once the session is bound to an identity."""

    hawk_id_hmac: str
    hawk_key: str
    user_mac: str | None = None
    encrypted_identity: str | None = None
    """The identity encrypted with the Hawk id, readable only during this session's requests."""

    @property
    def user(self) -> str:
        """The key everything this session owns is filed under (loop-api.md §3.1)."""
        return self.user_mac or self.hawk_id_hmac

    @property
    def registered(self) -> bool:
        return self.user_mac is not None


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

    ``generation`` changes whenever a participant joins; :meth:`Storage.join_room` takes
    it back so a join decided on stale participants is refused (:class:`JoinConflict`).
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


@dataclasses.dataclass(slots=True)
class StorageStats:
    """Counters the bench reads: how much a request costs the backend."""

    round_trips: int = 0
    commands: int = 0


class Storage(CallStorage, AccountStorage, WebPushStorage, SignallingStorage, abc.ABC):
    """Every method is a coroutine, keyword arguments only after the first ones."""

    stats: StorageStats

    def __init__(self) -> None:
        self.stats = StorageStats()

    # -- lifecycle -------------------------------------------------------------------------

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections. The storage is unusable afterwards."""

    @abc.abstractmethod
    async def ping(self, *, now: float) -> bool:
        """Write a heartbeat record; ``False`` (never an exception) if the backend fails."""

    @abc.abstractmethod
    async def flush(self) -> None:
        """Remove everything (tests only)."""

    @abc.abstractmethod
    async def ensure_secrets(self, candidates: Mapping[str, str]) -> dict[str, str]:
        """Store each candidate secret unless one is already stored under its name, then
        return the stored values for those names. Atomic, so processes starting together
        on one backend agree on the same secrets."""

    # -- Hawk sessions ---------------------------------------------------------------------

    @abc.abstractmethod
    async def create_session(self, session: Session, *, now: float, ttl: float) -> None:
        """Store a new session, alive for ``ttl`` seconds."""

    @abc.abstractmethod
    async def authenticate(
        self, hawk_id_hmac: str, *, nonce: str, now: float, ttl: float, nonce_ttl: float
    ) -> Session | None:
        """Look a session up for a Hawk request, in one round trip.

        Returns ``None`` when no live session has that id (nothing is recorded). Otherwise
        records ``nonce`` for ``nonce_ttl`` seconds, raising :class:`NonceReplayed` if it
        was already recorded for this session, and "touches" the session: it (and its push
        registrations) live ``ttl`` seconds from ``now`` again.
        """

    @abc.abstractmethod
    async def bind_identity(
        self, hawk_id_hmac: str, *, user_mac: str, encrypted_identity: str, now: float, ttl: float
    ) -> None:
        """Bind a live session to an identity; it then acts as that user."""

    @abc.abstractmethod
    async def delete_session(self, hawk_id_hmac: str) -> None:
        """Forget the session and its push registrations. No error if absent."""

    # -- push registrations ----------------------------------------------------------------

    @abc.abstractmethod
    async def register_push(
        self, session: Session, targets: Mapping[Topic, PushTarget], *, now: float, ttl: float
    ) -> None:
        """Merge ``targets`` into this device's registration (topics not given are kept).
        The registration lives as long as the session."""

    @abc.abstractmethod
    async def unregister_push(self, session: Session) -> None:
        """Forget every push target of this device. No error if there was none."""

    @abc.abstractmethod
    async def push_targets(self, user: str, topic: Topic, *, now: float) -> list[PushTarget]:
        """The targets of every live device of ``user`` for ``topic``, without duplicates,
        in no particular order."""

    # -- rooms -----------------------------------------------------------------------------

    @abc.abstractmethod
    async def create_room(self, room: Room, *, now: float) -> RoomChange:
        """Store a new room (token unique) alive until ``room.expires_at``."""

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
        self, token: str, *, owner: str, now: float, deleted_ttl: float
    ) -> RoomChange:
        """Delete the owner's room, its participants and context, and log the deletion
        (kept ``deleted_ttl`` seconds; the first deletion time wins) for
        :meth:`list_rooms`. Raises :class:`RoomNotFound`, then :class:`NotRoomOwner`."""

    @abc.abstractmethod
    async def delete_rooms(
        self, tokens: Sequence[str], *, owner: str, now: float, deleted_ttl: float
    ) -> tuple[list[str], RoomChange]:
        """Delete those of ``tokens`` that are live rooms of ``owner`` (as
        :meth:`delete_room` does) in one operation; returns the deleted tokens."""

    @abc.abstractmethod
    async def list_rooms(self, owner: str, *, since: int | None, now: float) -> RoomList:
        """The owner's live rooms, with ``update_time >= since`` when ``since`` is given,
        plus the tokens deleted at or after ``since`` (still in the deletion log)."""

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
    ) -> RoomChange:
        """Add ``participant`` (replacing any with the same id) if the room's participant
        generation is still ``generation``; then touch the room (``update_time = now``,
        ``expires_at = room_expires_at``) and, when given, store ``media_session``
        (``(session_id, api_key)``). Raises :class:`RoomNotFound` or :class:`JoinConflict`.
        """

    @abc.abstractmethod
    async def refresh_participant(
        self, token: str, participant_id: str, *, now: float, expires_at: float
    ) -> None:
        """Extend a live participant. Raises :class:`RoomNotFound`, :class:`NotParticipant`."""

    @abc.abstractmethod
    async def leave_room(
        self, token: str, participant_id: str, *, now: float, room_expires_at: int
    ) -> RoomChange:
        """Remove a live participant and touch the room as :meth:`join_room` does.
        Raises :class:`RoomNotFound`, :class:`NotParticipant`."""

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


def storage_kind(url: str) -> str:
    scheme = url.split(":", 1)[0].lower()
    if scheme in ("sqlite", "redis", "rediss", "unix"):
        return "redis" if scheme != "sqlite" else "sqlite"
    raise ValueError(f"storage.url: unsupported scheme {scheme!r} (use sqlite:// or redis://)")


async def from_url(url: str) -> Storage:
    """Open the backend named by the URL's scheme (each backend module exports
    ``async def from_url(url) -> Storage``)."""
    module = importlib.import_module(f"loop.storage.{storage_kind(url)}")
    storage = await module.from_url(url)
    if not isinstance(storage, Storage):
        raise TypeError(f"{module.__name__}.from_url did not return a Storage")
    return storage
