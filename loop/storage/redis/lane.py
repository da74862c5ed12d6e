"""The hot path to Redis: every storage call's command, multiplexed on one connection.

Every storage call sends exactly one command (an ``EVALSHA``). A pool giving each call a
connection of its own paid, per command, a ``write`` system call (each one waking Redis),
a read of its own, a semaphore and a timer: under the room-flow load (``bench/``) the
writes and sends alone were a fifth of the server's CPU. Here the commands issued in one
turn of the event loop go out together in one write on a shared connection, and one
reader resolves the callers in the order Redis answers (it answers in order): about nine
commands per write under that load, and 5 to 25 % less server CPU per request on a noisy
two-core machine. One connection suits Redis, which runs commands one at a time anyway;
the lane carries scripts and a few short commands (scans and admin pipelines go through
the redis-py client), so no large reply holds the others up for long. redis-py's
connection still connects (AUTH, SELECT, TLS, Unix sockets), packs and parses (hiredis).

``size`` caps the commands written and not yet answered: beyond it callers wait (within
their deadline) instead of piling writes up for a Redis that does not read them, so what
a slow Redis costs us in memory is bounded; the writer also waits for the socket to drain.

Every call is bounded by one deadline (``timeout`` seconds, ``storage.timeout``) covering
the connection, the queue and the reply, then ``TimeoutError`` (an ``OSError``, so a
``BackendError`` for the routes: 503). Replies come in order, so the oldest waiting call
has the earliest deadline: one timer per connection, on that call, stands for all of
them. When it expires Redis is frozen or hopelessly behind, so the connection is dropped
at once (without waiting for the peer) and every call still waiting on it fails with it
rather than each at its own deadline; the next call opens a fresh connection.

Retry policy, as before multiplexing: a command written on a connection that was already
established (the server closed it while it sat idle, or restarted) and that fails with a
connection error is sent once more on a fresh connection; a fresh connection's failure,
and any timeout, is final, since a script that did run would then apply twice.

An error reply (``NOSCRIPT``, ``MOVED``, a script's error) goes to its caller only and
leaves the connection in step. A cancelled caller's reply is still read, then dropped.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import InvalidResponse, ResponseError

Command = tuple[str | int, ...]


class Lane:
    """Stands for one Redis server: calls go to its current :class:`_Channel`, opened on
    first use and again after one is lost."""

    def __init__(
        self, connect: Callable[[], AbstractConnection], size: int, *, timeout: float
    ) -> None:
        self._connect = connect
        self._size = size
        self._timeout = timeout
        self._channel: _Channel | None = None

    async def execute(self, *command: str | int) -> Any:
        """Send one command and read its reply; Redis errors are raised as redis-py's
        exceptions (``NoScriptError``, ``ConnectionError``...), and ``TimeoutError`` when
        the whole call outlasts the deadline."""
        return await self._submit((command,), retriable=True)

    async def execute_asking(self, *command: str | int) -> Any:
        """``ASKING`` then the command, in one write: a Redis Cluster's answer to a command
        for a slot being migrated to this node (an ``ASK`` redirection). The command's
        reply is returned, the first error reply raised. Not retried: the redirection is
        asked again if it failed."""
        return await self._submit((("ASKING",), command), retriable=False)

    def _submit(self, commands: tuple[Command, ...], *, retriable: bool) -> asyncio.Future[Any]:
        channel = self._channel
        if channel is None or channel.lost:
            channel = self._channel = self._open()
        loop = channel.loop
        call = _Call(
            commands,
            loop.create_future(),
            loop.time() + self._timeout,
            final=not (retriable and channel.established),
        )
        channel.enqueue(call)
        return call.future

    def _open(self) -> _Channel:
        return _Channel(self._connect(), self._size, on_lost=self._reroute)

    def _reroute(self, lost: _Channel, calls: list[_Call]) -> None:
        """Calls a lost connection hands back (unsent, or sent once on an established
        connection) go, in their order, to a fresh one, where a failure is final."""
        if self._channel is lost:
            self._channel = None
        if not calls:
            return
        channel = self._channel = self._open()
        for call in calls:
            call.final = True
            channel.enqueue(call)

    async def close(self) -> None:
        """Close the connection; calls still waiting fail with ``ConnectionError``."""
        channel, self._channel = self._channel, None
        if channel is not None:
            await channel.close()


class _Call:
    """One caller's commands, the future it awaits, and when it gives up."""

    __slots__ = ("commands", "deadline", "error", "final", "future", "received", "reply")

    def __init__(
        self,
        commands: tuple[Command, ...],
        future: asyncio.Future[Any],
        deadline: float,
        *,
        final: bool,
    ) -> None:
        self.commands = commands
        self.future = future
        self.deadline = deadline
        self.final = final
        """Whether a connection error ends it, rather than sending it once more."""
        self.received = 0
        self.reply: Any = None
        self.error: ResponseError | None = None

    def take(self, reply: Any) -> bool:
        """Record one of its replies (the first error reply wins); whether it is whole."""
        self.received += 1
        if isinstance(reply, ResponseError):
            self.error = self.error or reply
        else:
            self.reply = reply
        return self.received == len(self.commands)

    def settle(self) -> None:
        if self.future.done():  # its caller was cancelled: the reply is dropped
            return
        if self.error is not None:
            self.future.set_exception(self.error)
        else:
            self.future.set_result(self.reply)

    def fail(self, error: BaseException) -> None:
        if not self.future.done():
            self.future.set_exception(error)


class _Channel:
    """One connection: a writer task that connects then writes what is queued, a reader
    task that hands each reply to the oldest call in flight, and the deadline timer."""

    def __init__(
        self,
        connection: AbstractConnection,
        size: int,
        *,
        on_lost: Callable[[_Channel, list[_Call]], None],
    ) -> None:
        self.loop = asyncio.get_running_loop()
        self.connection = connection
        self.established = False
        self.lost = False
        self._size = size
        self._on_lost = on_lost
        self._unsent: deque[_Call] = deque()
        self._in_flight: deque[_Call] = deque()
        self._wake: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._reader: asyncio.Task[None] | None = None
        self._writer = self.loop.create_task(self._write())

    def enqueue(self, call: _Call) -> None:
        self._unsent.append(call)
        if self._timer is None:
            self._timer = self.loop.call_at(call.deadline, self._check_deadline)
        self._nudge()

    def _nudge(self) -> None:
        """Wake the writer if it waits and may write: it runs after the callers of this
        turn of the loop have queued theirs, so they go out in one write."""
        wake = self._wake
        if wake is not None and len(self._in_flight) < self._size and not wake.done():
            wake.set_result(None)

    async def _write(self) -> None:
        try:
            await self.connection.connect()  # type: ignore[no-untyped-call]
            self.established = True
            self._reader = self.loop.create_task(self._read())
            while not self.lost:
                batch = self._next_batch()
                if not batch:
                    self._wake = self.loop.create_future()
                    await self._wake
                    self._wake = None
                    continue
                if not self.connection.is_connected:  # or the send would reconnect
                    raise RedisConnectionError("Connection closed by the server")
                packed = self.connection.pack_commands(_commands(batch))
                await self.connection.send_packed_command(packed, check_health=False)
        except asyncio.CancelledError:  # lost (then a no-op), or the loop shutting down
            self._lose(RedisConnectionError("the Redis lane was cancelled"), reroute=False)
        except Exception as error:  # every call gets it, then the connection is gone
            self._lose(error)
        finally:
            if self._reader is not None:
                self._reader.cancel()
            await self.connection.disconnect(nowait=True)

    def _next_batch(self) -> list[_Call]:
        """The queued calls room allows, moved to those in flight (skipping those whose
        caller was cancelled before they went out)."""
        batch: list[_Call] = []
        room = self._size - len(self._in_flight)
        unsent = self._unsent
        while unsent and len(batch) < room:
            call = unsent.popleft()
            if not call.future.done():
                batch.append(call)
        self._in_flight.extend(batch)
        return batch

    async def _read(self) -> None:
        in_flight = self._in_flight
        read = self.connection.read_response
        try:
            while True:
                try:
                    reply = await read()
                except ResponseError as error:  # an error reply leaves the socket in step
                    reply = error
                if not in_flight:
                    raise InvalidResponse("Redis sent a reply no command asked for")
                if in_flight[0].take(reply):
                    in_flight.popleft().settle()
                    if self._unsent:
                        self._nudge()
        except asyncio.CancelledError:  # lost (then a no-op), or the loop shutting down
            self._lose(RedisConnectionError("the Redis lane was cancelled"), reroute=False)
        except Exception as error:  # every call gets it, then the connection is gone
            self._lose(error)

    def _check_deadline(self) -> None:
        """The oldest call's deadline: passed, Redis is frozen or too far behind for any
        call waiting here; otherwise wait for the next oldest call's."""
        self._timer = None
        oldest = self._oldest()
        if oldest is None:
            return
        if oldest.deadline - self.loop.time() > CLOCK_SLACK:
            self._timer = self.loop.call_at(oldest.deadline, self._check_deadline)
            return
        self._lose(None)

    def _oldest(self) -> _Call | None:
        if self._in_flight:
            return self._in_flight[0]
        return self._unsent[0] if self._unsent else None

    def _lose(self, error: BaseException | None, *, reroute: bool = True) -> None:
        """Give the connection up: ``error`` (``None`` for a deadline) ends every call
        on it, except, after a connection error, those that may go once more on a fresh
        one. Synchronous, so no call is queued here meanwhile."""
        if self.lost:
            return
        self.lost = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._writer is not asyncio.current_task():
            self._writer.cancel()
        sent, unsent = list(self._in_flight), list(self._unsent)
        self._in_flight.clear()
        self._unsent.clear()
        again: list[_Call] = []
        if reroute and isinstance(error, RedisConnectionError):
            again = [call for call in sent if not call.final]
            if self.established:  # not sent yet: safe to send, unless connecting failed
                again += unsent
        kept = set(again)
        for call in [*sent, *unsent]:
            if call not in kept:
                call.fail(error if error is not None else _timed_out())
        self._on_lost(self, [call for call in again if not call.future.done()])

    async def close(self) -> None:
        self._lose(RedisConnectionError("the Redis lane was closed"), reroute=False)
        await asyncio.gather(self._writer, return_exceptions=True)


CLOCK_SLACK = 0.001
"""A timer may fire this early (the loop's clock resolution): the deadline has come."""


def _timed_out() -> TimeoutError:
    return TimeoutError("Redis did not answer within the storage timeout")


def _commands(batch: Iterable[_Call]) -> list[Command]:
    return [command for call in batch for command in call.commands]
