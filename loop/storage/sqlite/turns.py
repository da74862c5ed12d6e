"""One write transaction per turn of the event loop, shared by the calls made in it.

A storage call used to be a transaction of its own: ``BEGIN IMMEDIATE``, its statements,
``COMMIT``. Under load the two ends cost more than the work (in-process, room flow: 16 µs
to take the write lock, 30 µs for a median commit, and one commit in a hundred paid for a
WAL checkpoint and its ``fsync``, several milliseconds). Requests that arrive together are
served in the same turn of the event loop, and SQLite calls never await inside, so the calls
of one turn now share one transaction, each call's work in a savepoint of its own:

* a call that fails (a domain refusal as much as a driver error) rolls back its savepoint
  only: the others' work stays, exactly as if each had been a transaction;
* the transaction commits at the end of the turn (``call_soon`` at its first call), once,
  and pages several calls touched (a session's row, the nonces' index) are written once;
* a call returns only once that commit is done (:meth:`TurnCommitting.turn_committed`,
  awaited by every public method's decorator), so no answer reports a write that is not
  committed; if the commit fails, every call of the turn fails with the backend error;
* a request's session check, carried by a call (:mod:`loop.storage.checks`), passes or
  fails with the commit that holds it.

Another process sharing the file waits for the write lock at most one turn longer; other
processes never see a call's writes before its caller does. Another connection of this
process (a second storage on the file, as tests open, or the gateway's) must not wait for
the lock while a turn holds it: only this thread could commit that turn, and it would be
the one waiting. So a connection first commits the process's open turns
(:func:`commit_open_turns`) before it takes the lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Iterator

from loop.storage.checks import SessionCheck
from loop.storage.errors import BackendError


class Turn:
    """The transaction of one turn: who waits for its commit, and the checks it holds."""

    __slots__ = ("waiters", "checks")

    def __init__(self) -> None:
        self.waiters: list[asyncio.Future[None]] = []
        self.checks: list[SessionCheck] = []

    def committed(self) -> None:
        for check in self.checks:
            check.passed()
        for waiter in self.waiters:
            if not waiter.done():
                waiter.set_result(None)

    def failed(self, error: BackendError) -> None:
        for check in self.checks:
            check.failed(error)
        for waiter in self.waiters:
            if not waiter.done():
                waiter.set_exception(error)


_OPEN_TURNS: set[TurnCommitting] = set()
"""The storages of this process whose turn holds the write lock."""


def commit_open_turns() -> None:
    """Commit every open turn of this process, before another of its connections takes
    the write lock."""
    for storage in list(_OPEN_TURNS):
        storage._commit_now()


class TurnCommitting:
    """The turn machinery of a SQLite connection (mixed into the storage)."""

    _db: sqlite3.Connection
    _turn: Turn | None = None

    def _join_turn(self) -> Turn:
        """The turn's transaction, begun by the first call of the turn."""
        turn = self._turn
        if turn is None:
            if _OPEN_TURNS:
                commit_open_turns()
            self._db.execute("BEGIN IMMEDIATE")
            turn = self._turn = Turn()
            _OPEN_TURNS.add(self)
            asyncio.get_running_loop().call_soon(self._end_turn, turn)
        return turn

    def _end_turn(self, turn: Turn) -> None:
        if self._turn is not turn:
            return  # already ended: lost to a failure, or committed early
        self._turn = None
        _OPEN_TURNS.discard(self)
        try:
            self._db.execute("COMMIT")
        except sqlite3.Error as error:
            self._abandon(turn, error)
            return
        turn.committed()

    def _abandon(self, turn: Turn, error: BaseException) -> None:
        """The transaction is gone (its commit failed, or SQLite rolled it all back after
        a disk error): every call of the turn fails."""
        if self._turn is turn:
            self._turn = None
            _OPEN_TURNS.discard(self)
        if self._db.in_transaction:
            try:
                self._db.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the connection is broken: the next BEGIN says so
        turn.failed(BackendError(error))

    @contextlib.contextmanager
    def _savepoint(self, name: str, turn: Turn) -> Iterator[None]:
        """The body in a savepoint of ``turn``'s transaction, rolled back alone if it
        raises; if the failure took the whole transaction with it, the turn is lost."""
        self._db.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException as error:
            if not self._db.in_transaction:
                self._abandon(turn, error)
                raise
            try:
                self._db.execute(f"ROLLBACK TO {name}")
                self._db.execute(f"RELEASE {name}")
            except sqlite3.Error as failure:
                self._abandon(turn, failure)
            raise
        self._db.execute(f"RELEASE {name}")

    async def turn_committed(self) -> None:
        """Return once the current turn's transaction is committed (at once if none is
        open); :class:`BackendError` if it failed."""
        turn = self._turn
        if turn is None:
            return
        waiter = asyncio.get_running_loop().create_future()
        turn.waiters.append(waiter)
        await waiter

    def _commit_now(self) -> None:
        """End the open turn at once (closing the connection would roll it back)."""
        if self._turn is not None:
            self._end_turn(self._turn)
