"""Storage for link-based and direct calls (call URLs, calls, call progress).

Part of the :class:`~loop.storage.Storage` interface; each backend implements it in its own
``calls`` module (``loop/storage/sqlite/calls.py``, ``loop/storage/redis/calls.py``), and
``loop/storage/testing/calls.py`` holds its contract.

Call progress (loop-api.md §6.4) is kept as the original kept it: a set of *markers*
whose size is the state (the domain maps sizes to states in :mod:`loop.calls.progress`;
storage only counts). Every progress method is one atomic step, so two devices or two
server processes racing on one call cannot both win a transition, and every step that
changes the markers *publishes* the new :class:`CallProgress` to the call's subscribers,
in the same round trip on Redis (``PUBLISH`` from the script) and after the commit on
SQLite (in-process fan-out: SQLite processes do not share live calls).
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Callable, Collection, Sequence
from typing import Any, Literal

from loop.storage.errors import StorageError
from loop.storage.quotas import RateLimit

Party = Literal["caller", "callee"]
PARTIES: tuple[Party, ...] = ("caller", "callee")


class CallStorageError(StorageError):
    """Base of the calls' domain outcomes (nothing was changed when one is raised)."""


class CallUrlNotFound(CallStorageError):
    """No live call URL has that token."""


class NotCallUrlOwner(CallStorageError):
    """The call URL exists but belongs to another user."""


@dataclasses.dataclass(frozen=True, slots=True)
class CallUrl:
    """A click-to-call link (``callurl.<token>``, loop-api.md §4.10)."""

    token: str
    user: str
    """The owner's user key (``userMac``)."""
    issuer: str
    timestamp: int
    expires: int
    """Unix seconds; the URL is live while ``now < expires``."""
    caller_id: str | None = None
    subject: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Call:
    """A call record (``call.<callId>``, loop-api.md §4.11). The caller's media token is
    never stored: only the caller ever sees it, in the answer that created the call."""

    call_id: str
    call_type: str
    timestamp: int
    expires_at: float
    api_key: str
    session_id: str
    callee_token: str
    ws_caller_token: str
    ws_callee_token: str
    caller_id: str | None = None
    subject: str | None = None
    callee_friendly_name: str | None = None
    call_token: str | None = None
    url_creation_date: int | None = None

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Call:
        return cls(**data)


@dataclasses.dataclass(frozen=True, slots=True)
class CallCreated:
    callees: tuple[str, ...]
    """The users the call was filed under (the reachable ones when that was asked)."""
    push_targets: tuple[Any, ...]
    """Their ``calls`` push targets, deduplicated."""


@dataclasses.dataclass(frozen=True, slots=True)
class CallProgress:
    """A call's progress after (and before) one step."""

    markers: int
    """Distinct markers now; ``0`` means terminated."""
    previous: int
    """Distinct markers before the step."""
    reason: str | None = None
    """The termination reason (only when terminated)."""

    @property
    def changed(self) -> bool:
        return self.markers != self.previous

    def encode(self) -> str:
        """The pub/sub message: ``"<markers>|<reason>"``."""
        return f"{self.markers}|{self.reason or ''}"

    @classmethod
    def decode(cls, message: str) -> CallProgress:
        markers, _, reason = message.partition("|")
        count = int(markers)
        return cls(markers=count, previous=-1, reason=reason or None)


Listener = Callable[[CallProgress], None]
"""Called (synchronously, never awaited) with each published progress of a call."""


class CallSubscription(abc.ABC):
    """A live subscription to a call's progress; :meth:`close` ends it."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Stop delivering to the listener. Never raises."""


class CallStorage(abc.ABC):
    """Call URLs, calls and their progress state."""

    # -- call URLs -------------------------------------------------------------------------

    @abc.abstractmethod
    async def create_call_url(
        self, url: CallUrl, *, now: float, limits: Sequence[RateLimit] = ()
    ) -> None:
        """Store a new call URL, counted in ``limits`` (:mod:`loop.storage.quotas`:
        :class:`~loop.storage.quotas.RateLimited` when one is full)."""

    @abc.abstractmethod
    async def get_call_url(self, token: str, *, now: float) -> CallUrl | None:
        """The live call URL, or ``None``."""

    @abc.abstractmethod
    async def list_call_urls(self, user: str, *, now: float) -> list[CallUrl]:
        """The user's live call URLs, by ``timestamp`` then token."""

    @abc.abstractmethod
    async def update_call_url(self, url: CallUrl, *, now: float) -> None:
        """Overwrite the live call URL ``url.token`` with ``url``. Raises
        :class:`CallUrlNotFound`, then :class:`NotCallUrlOwner` (``url.user`` differs)."""

    @abc.abstractmethod
    async def delete_call_url(self, token: str, *, user: str, now: float) -> None:
        """Delete the user's live call URL. Raises :class:`CallUrlNotFound`, then
        :class:`NotCallUrlOwner`."""

    # -- calls -----------------------------------------------------------------------------

    @abc.abstractmethod
    async def create_call(
        self,
        call: Call,
        *,
        callees: Sequence[str],
        reachable_only: bool,
        now: float,
        limits: Sequence[RateLimit] = (),
    ) -> CallCreated:
        """File ``call`` (alive until ``call.expires_at``, progress ``{init}``) under each
        of ``callees``, or with ``reachable_only`` under those having at least one
        ``calls`` push target; nothing is stored when no callee is left. The attempt is
        counted in ``limits`` either way (:class:`~loop.storage.quotas.RateLimited` when
        one is full, and then nothing is stored)."""

    @abc.abstractmethod
    async def get_call(self, call_id: str, *, now: float) -> Call | None:
        """The live call, terminated or not, or ``None``."""

    @abc.abstractmethod
    async def list_calls(self, user: str, *, since: int, now: float) -> list[Call]:
        """The user's live, not terminated calls with ``timestamp >= since``, by
        ``timestamp`` then id."""

    # -- progress --------------------------------------------------------------------------

    @abc.abstractmethod
    async def join_call(
        self, call_id: str, *, party: Party, marker: str, when: Collection[int], now: float
    ) -> CallProgress | None:
        """A device of ``party`` said hello: count it, then add ``marker`` if the marker
        count is in ``when``. ``None`` when the call is not live."""

    @abc.abstractmethod
    async def mark_call(
        self, call_id: str, *, marker: str, when: Collection[int], now: float
    ) -> CallProgress | None:
        """Add ``marker`` if the marker count is in ``when``. ``None`` if not live."""

    @abc.abstractmethod
    async def terminate_call(
        self, call_id: str, *, reason: str | None, when: Collection[int], now: float
    ) -> CallProgress | None:
        """Drop every marker and keep ``reason`` if the count is in ``when`` (never 0:
        a terminated call stays terminated with its first reason)."""

    @abc.abstractmethod
    async def leave_call(
        self, call_id: str, *, party: Party, reason: str, now: float
    ) -> CallProgress | None:
        """A device of ``party`` went away: uncount it and, if it was the last one of its
        party and the call is not terminated, terminate it with ``reason``."""

    @abc.abstractmethod
    async def subscribe_call(self, call_id: str, listener: Listener) -> CallSubscription:
        """Deliver every progress published for ``call_id`` from now on to ``listener``
        (in publication order), until the subscription is closed. Once this returns, no
        later publication can be missed."""
