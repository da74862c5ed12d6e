"""The storage interface every backend implements: one narrow interface per concern,
combined into :class:`Storage`, plus the errors and :func:`from_url`.

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
  ``JoinConflict``, ``NonceReplayed``, the calls' ``CallStorageError`` subclasses and the
  quotas' ``RateLimited`` and ``TooManyRooms`` say why a conditional mutation did not
  happen; nothing was changed when one is raised.
* **Limits are counted where things are created.** Methods that create something take the
  :class:`~loop.storage.quotas.RateLimit` windows it counts in and check them in the same
  round trip (:mod:`loop.storage.quotas`, shared by every concern).

**One module per concern.** Each concern is the same four files (``<concern>`` being
``sessions``, ``rooms``, ``calls``, ``accounts``, ``webpush``, ``signalling`` or ``admin``):

* ``loop/storage/<concern>.py``: its records, its domain errors (subclasses of
  :class:`StorageError`) and its narrow interface, an abstract class such as
  :class:`RoomStorage`. Domain code takes the narrow interface it uses, not :class:`Storage`;
* ``loop/storage/sqlite/<concern>.py`` and ``loop/storage/redis/<concern>.py``: a mixin
  implementing it on the backend's plumbing (SQLite: ``_transaction``/``_run`` and its own
  ``SCHEMA``/``TABLES``; Redis: ``_run`` for one ``EVALSHA``, keys from
  :mod:`loop.storage.redis.keys`, scripts in ``loop/storage/redis/lua/<name>.lua``);
* ``loop/storage/testing/<concern>.py``: its contract, one themed class that every
  backend's test class inherits through :class:`~loop.storage.testing.StorageContract`.

A new concern adds those four files, then one base class to :class:`Storage` below, one
mixin to ``SQLiteStorage`` and ``RedisStorage``, and its contract to ``StorageContract``.
The import graph runs one way: :mod:`loop.storage.errors` ← the concern modules ← this
module ← the backends.
"""

from __future__ import annotations

import abc
import dataclasses
import importlib
from collections.abc import Mapping

from loop.storage.accounts import AccountStorage, OAuthRecord
from loop.storage.admin import AdminStorage
from loop.storage.calls import CallStorage
from loop.storage.checks import KnownSessions, SessionCheck, SessionCheckFailed
from loop.storage.errors import BackendError, StorageError
from loop.storage.rooms import (
    JoinConflict,
    NotParticipant,
    NotRoomOwner,
    Participant,
    RecentRooms,
    Room,
    RoomChange,
    RoomList,
    RoomNotFound,
    RoomState,
    RoomStorage,
)
from loop.storage.secrets import SecretsDiverged, SecretsGuard
from loop.storage.sessions import (
    TOPICS,
    NonceReplayed,
    PushTarget,
    Session,
    SessionStorage,
    Topic,
)
from loop.storage.signalling import SignallingStorage
from loop.storage.webpush import WebPushStorage

__all__ = [
    "TOPICS",
    "AccountStorage",
    "AdminStorage",
    "BackendError",
    "CallStorage",
    "DEFAULT_TIMEOUT",
    "JoinConflict",
    "NonceReplayed",
    "NotParticipant",
    "NotRoomOwner",
    "OAuthRecord",
    "Participant",
    "PushTarget",
    "Room",
    "RoomChange",
    "RoomList",
    "RoomNotFound",
    "RoomState",
    "RoomStorage",
    "SecretsDiverged",
    "Session",
    "SessionCheck",
    "SessionCheckFailed",
    "SessionStorage",
    "SignallingStorage",
    "Storage",
    "StorageError",
    "StorageStats",
    "Topic",
    "WebPushStorage",
    "from_url",
    "storage_kind",
]


@dataclasses.dataclass(slots=True)
class StorageStats:
    """Counters the bench reads: how much a request costs the backend."""

    round_trips: int = 0
    commands: int = 0


class Storage(
    SessionStorage,
    RoomStorage,
    CallStorage,
    AccountStorage,
    WebPushStorage,
    SignallingStorage,
    AdminStorage,
    abc.ABC,
):
    """Every concern on one backend, plus the backend's own lifecycle. Every method is a
    coroutine, keyword arguments only after the first ones."""

    stats: StorageStats

    def __init__(self) -> None:
        self.stats = StorageStats()
        self._secrets = SecretsGuard()
        """Set by :meth:`pin_secrets`; the backend refuses every call while it says the
        store holds other secrets (:mod:`loop.storage.secrets`)."""
        self.known_sessions = KnownSessions()
        self.recent_rooms = RecentRooms()
        """The sessions this process has seen, whose requests' checks ride on their first
        storage call (:mod:`loop.storage.checks`)."""

    @property
    def secrets_diverged(self) -> bool:
        """The last secrets check found other secrets in the store: every call is refused
        (for callers that use a secret before any storage call, such as a signalling
        ``hello``)."""
        return self._secrets.diverged

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

    @abc.abstractmethod
    async def pin_secrets(self, record: Mapping[str, str]) -> bool:
        """Hold the store to ``record`` from now on (the generated secrets and the
        fingerprint of the effective ones, :mod:`loop.storage.secrets`): write each of its
        fields the store lacks, then return whether the stored fingerprint is ours. From
        then on every check (a new connection, :meth:`check_secrets`) does the same, and
        while the store holds another fingerprint every call raises
        :class:`SecretsDiverged` and ``ping`` is ``False``."""

    @abc.abstractmethod
    async def check_secrets(self) -> bool:
        """One check of the pinned record (re-seeding a store that lost it); ``True`` when
        the store agrees (nothing pinned: ``True`` once the store answered).
        ``BackendError`` if unreachable, which leaves the verdict as it was."""


CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")
"""``storage.url`` schemes of a Redis Cluster (:mod:`loop.storage.redis.clustered`)."""


def storage_kind(url: str) -> str:
    scheme = url.split(":", 1)[0].lower()
    if scheme in ("sqlite", "redis", "rediss", "unix", *CLUSTER_SCHEMES):
        return "redis" if scheme != "sqlite" else "sqlite"
    raise ValueError(f"storage.url: unsupported scheme {scheme!r} (use sqlite:// or redis://)")


def _backend_module(url: str) -> str:
    """The module whose ``from_url`` opens ``url``: a cluster has its own."""
    if url.split(":", 1)[0].lower() in CLUSTER_SCHEMES:
        return "loop.storage.redis.clustered"
    return f"loop.storage.{storage_kind(url)}"


DEFAULT_TIMEOUT = 2.0
"""Seconds a storage call may wait on its backend (``storage.timeout``) before it fails
with ``BackendError`` (503 errno 201 with ``Retry-After``)."""


async def from_url(url: str, *, timeout: float = DEFAULT_TIMEOUT) -> Storage:
    """Open the backend named by the URL's scheme (each backend module exports
    ``async def from_url(url, *, timeout) -> Storage``); ``timeout`` bounds every wait on
    the backend."""
    module = importlib.import_module(_backend_module(url))
    storage = await module.from_url(url, timeout=timeout)
    if not isinstance(storage, Storage):
        raise TypeError(f"{module.__name__}.from_url did not return a Storage")
    return storage
