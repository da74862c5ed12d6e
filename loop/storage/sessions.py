"""Storage for Hawk sessions, their nonces, and the push registrations of their devices.

Part of the :class:`~loop.storage.Storage` interface; each backend implements it in its own
``sessions`` module (``loop/storage/sqlite/sessions.py``, ``loop/storage/redis/sessions.py``),
and ``loop/storage/testing/sessions.py`` holds its contract.

A push registration belongs to a device (a session) and to the user the device acted as
when it registered, and lives exactly as long as that session (loop-api.md §4.6, §4.7).
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from loop.storage.checks import KnownSessions, SessionCheck
from loop.storage.errors import StorageError
from loop.storage.quotas import RateLimit

Topic = Literal["calls", "rooms"]
TOPICS: tuple[Topic, ...] = ("calls", "rooms")

PushTarget = str | dict[str, Any]
"""A SimplePush URL, or a Web Push subscription ``{"endpoint", "keys": {...}}``. Opaque to
storage, which keeps it as JSON and deduplicates by value."""


class NonceReplayed(StorageError):
    """This session already made a request with this timestamp, nonce and MAC."""


def nonce_member(timestamp: int, nonce: str, mac: str) -> str:
    """How a backend files a request: ``<ts>:<nonce>:<mac>``, unambiguous since ``ts`` is
    digits and a MAC is base64 (no colon)."""
    return f"{timestamp}:{nonce}:{mac}"


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


class SessionStorage(abc.ABC):
    """Hawk sessions (with their nonces) and the push targets of their devices."""

    known_sessions: KnownSessions
    """The sessions this process has seen, whose requests' checks ride on their first
    storage call (:mod:`loop.storage.checks`)."""

    carries_session_checks = True
    """Whether requests' :class:`~loop.storage.checks.SessionCheck` are armed at all for
    this backend (every backend here does; a Redis Cluster carries one only on a call in
    the session's slot and otherwise makes it alone, first)."""

    @abc.abstractmethod
    async def check_session(self, check: SessionCheck) -> None:
        """Perform ``check`` by itself, for a request whose storage calls did not carry it
        (or that made none): claimed and settled like a carried one, raising
        :class:`~loop.storage.checks.SessionCheckFailed` when it fails."""

    # -- Hawk sessions ---------------------------------------------------------------------

    @abc.abstractmethod
    async def create_session(
        self,
        session: Session,
        *,
        now: float,
        ttl: float,
        limits: Sequence[RateLimit] = (),
        push: Mapping[Topic, PushTarget] | None = None,
    ) -> None:
        """Store a new session, alive for ``ttl`` seconds, counted in ``limits``
        (:class:`~loop.storage.quotas.RateLimited` when one is full, nothing stored).

        ``push``, when given, is the device's first push registration, stored in the same
        call as :meth:`register_push` would store it right after: a new session's
        ``/registration`` costs one round trip (issue 13)."""

    @abc.abstractmethod
    async def authenticate(
        self,
        hawk_id_hmac: str,
        *,
        timestamp: int,
        nonce: str,
        mac: str,
        now: float,
        ttl: float,
        nonce_until: float,
    ) -> Session | None:
        """Look a session up for a Hawk request and record the request, in one round trip.

        Returns ``None`` when no live session has that id (nothing is recorded). Otherwise
        the request's ``(timestamp, nonce, mac)`` is remembered until ``nonce_until``
        (exclusive: when the timestamp can no longer be accepted; nothing is recorded if
        that has passed), raising :class:`NonceReplayed`, touching nothing, if it still
        is; and the session (with its push registrations) lives ``ttl`` seconds from
        ``now`` again.

        The MAC is part of what is remembered because the key to verify it is only known
        after this lookup: a request with a wrong MAC is recorded under its own MAC, so it
        cannot burn the nonce of the genuine request (whose MAC it cannot forge), while a
        replayed header carries the very same MAC.
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
