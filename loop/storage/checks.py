"""Session checks that ride on a request's first storage call (issue 13: one round trip).

A Hawk request used to cost two storage calls in a row: one to find the session (its key
verifies the MAC; the call also records the nonce and touches the session), then the
operation. The key of a session never changes, so a process remembers the sessions it has
seen (:class:`KnownSessions`) and verifies the MAC with no storage call at all. What must
still be asked of the store, because another process may have changed it, is the rest:
is the session alive, still bound to the user it was remembered with, and is this
request's nonce new? That is a :class:`SessionCheck`, and it travels with the request's
first storage call: the backend performs the check in the same transaction or script,
before the operation, and refuses the whole call (nothing of it done) when the check
fails. A revoked session is therefore refused at once, by every process; nothing is
honoured from memory but the key.

The check reaches the backend through :data:`request_checks`, a per-request
:class:`CheckSlot` the HTTP middleware opens: storage calls happen deep in domain code,
sometimes in concurrent tasks (which share the slot, a mutable object, though each has
its own context), and threading an argument through every method would touch them all.
The first call to claim the check carries it; calls made while it is in flight wait for
its outcome, and calls after a failure raise it. A request that makes no storage call
after its Hawk verification gets its check from the middleware, alone, before its answer
starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING

from loop.storage.errors import StorageError
from loop.storage.memory import BoundedMemory

if TYPE_CHECKING:
    from loop.storage.sessions import Session

KNOWN_SESSIONS = 20_000
"""Sessions a process remembers (about 0.5 KiB each); past it, the oldest is forgotten
and its next request takes the separate lookup again."""


class SessionCheckFailed(StorageError):
    """The check riding on a storage call failed, and nothing of that call was done.

    ``replayed``: the session is alive but this request (timestamp, nonce, MAC) was seen
    already. ``stale``: the session is alive but was bound since to another user than the
    one it was remembered with (another process signed it in); the request may be served
    again with the session looked up. Otherwise the session is gone."""

    def __init__(self, *, replayed: bool = False, stale: bool = False) -> None:
        super().__init__("replayed" if replayed else "stale" if stale else "unknown session")
        self.replayed = replayed
        self.stale = stale


@dataclasses.dataclass(eq=False, slots=True)
class SessionCheck:
    """What the store must confirm for one Hawk request verified with a remembered key."""

    hawk_id_hmac: str
    user_mac: str | None
    """The binding the session was remembered with; the check fails if it changed."""
    member: str
    """The request as the nonce record files it (:func:`~loop.storage.sessions.nonce_member`)."""
    nonce_until: float
    now: float
    ttl: float
    """The session lives ``ttl`` seconds from ``now`` again, as a separate lookup does."""
    alone: Callable[[SessionCheck], Awaitable[None]]
    """The backend's way to perform the check by itself (:meth:`settle`)."""
    _claimed: bool = False
    _outcome: asyncio.Future[None] | None = None

    @property
    def pending(self) -> bool:
        """No storage call has taken the check yet."""
        return not self._claimed

    def claim(self) -> bool:
        """``True`` for the one call that must carry the check (and then report how it
        went with :meth:`passed` or :meth:`failed`)."""
        if self._claimed:
            return False
        self._claimed = True
        self._outcome = asyncio.get_running_loop().create_future()
        return True

    def passed(self) -> None:
        if self._outcome is not None and not self._outcome.done():
            self._outcome.set_result(None)

    def failed(self, error: BaseException) -> None:
        """The carrying call failed: a :class:`SessionCheckFailed`, or the backend's own
        failure (then whether the check ran is unknown, and the request fails with it)."""
        if self._outcome is not None and not self._outcome.done():
            self._outcome.set_exception(error)
            self._outcome.exception()  # retrieved: nobody else may be waiting

    def outcome_now(self) -> None:
        """For a synchronous backend, where a claimed check is always settled: raise its
        failure, if it failed."""
        if self._outcome is not None and self._outcome.done():
            self._outcome.result()

    async def outcome(self) -> None:
        """Wait for the carrying call; raise what it failed with."""
        if self._outcome is not None:
            await asyncio.shield(self._outcome)

    async def settle(self) -> None:
        """Make sure the check was performed: by itself if no storage call carried it."""
        if self._claimed:
            await self.outcome()
        else:
            await self.alone(self)


class CheckSlot:
    """One request's place for its check (:data:`request_checks`)."""

    __slots__ = ("check",)

    def __init__(self, check: SessionCheck | None = None) -> None:
        self.check = check


request_checks: contextvars.ContextVar[CheckSlot | None] = contextvars.ContextVar(
    "loop_session_checks", default=None
)
"""Set by the HTTP middleware for each request; ``None`` elsewhere (background jobs,
websockets, tests that call storage directly), where no check is ever armed."""


@contextlib.contextmanager
def serving(slot: CheckSlot | None) -> Iterator[None]:
    """Storage calls made inside see ``slot``'s check (``None``: no check at all)."""
    token = request_checks.set(slot)
    try:
        yield
    finally:
        request_checks.reset(token)


def armed(check: SessionCheck) -> contextlib.AbstractContextManager[None]:
    """Storage calls made inside carry ``check``, or wait for it: a backend performing a
    check alone, or a test serving "a request"."""
    return serving(CheckSlot(check))


def unchecked() -> contextlib.AbstractContextManager[None]:
    """Storage calls made inside carry no check and wait for none: for a lookup whose
    only purpose is to choose between two refusals, after the check failed."""
    return serving(None)


def armed_check() -> SessionCheck | None:
    """The check of the request being served, if one is armed."""
    slot = request_checks.get()
    return None if slot is None else slot.check


class KnownSessions(BoundedMemory["Session"]):
    """The sessions this process has seen: only their keys are trusted from memory
    (a key never changes); liveness, binding and nonces are checked by the store."""

    def __init__(self, capacity: int = KNOWN_SESSIONS) -> None:
        super().__init__(capacity)

    def remember(self, session: Session) -> None:
        self.put(session.hawk_id_hmac, session)
