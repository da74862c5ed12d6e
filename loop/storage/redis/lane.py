"""The hot path to Redis: a lean pool of redis-py connections for one command per call.

Every storage call sends exactly one command (an ``EVALSHA``). Through redis-py's client
object each command also went through a retry wrapper, a deprecation-argument decorator,
event dispatch and a blocking pool with a condition variable: about a third of the server's
CPU under load, measured in ``bench/``. This keeps redis-py's connections (its hiredis
parser and packer, timeouts, TLS and Unix sockets) and drops the rest.

Retry policy, as before: a *reused* connection that fails with a connection error (the
server closed it while it sat idle, or restarted) is replaced and the command sent once
more; a fresh connection's failure, and any timeout, is final, since a script that did run
would then apply twice.

Every call is bounded by one deadline (``timeout`` seconds, ``storage.timeout``) covering the
wait for a free slot, the connection and the reply: a frozen Redis costs a caller that long
at most, then ``TimeoutError`` (an ``OSError``, so a ``BackendError`` for the routes: 503).
The connections themselves carry no read timeout, so a call arms one timer, not two.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError


class Lane:
    def __init__(
        self, connect: Callable[[], AbstractConnection], size: int, *, timeout: float
    ) -> None:
        self._connect = connect
        self._slots = asyncio.Semaphore(size)
        self._idle: list[AbstractConnection] = []
        self._timeout = timeout

    async def execute(self, *command: str | int) -> Any:
        """Send one command and read its reply; Redis errors are raised as redis-py's
        exceptions (``NoScriptError``, ``ConnectionError``...), and ``TimeoutError`` when
        the whole call outlasts the deadline."""
        async with asyncio.timeout(self._timeout), self._slots:
            reused = bool(self._idle)
            connection = self._idle.pop() if reused else self._connect()
            try:
                return await self._round_trip(connection, (command,))
            except RedisConnectionError:
                if not reused:
                    raise
            return await self._round_trip(self._connect(), (command,))

    async def execute_asking(self, *command: str | int) -> Any:
        """``ASKING`` then the command, on one connection in one round trip: a Redis
        Cluster's answer to a command for a slot being migrated to this node (an ``ASK``
        redirection). Not retried: the redirection is asked again if it failed."""
        async with asyncio.timeout(self._timeout), self._slots:
            connection = self._idle.pop() if self._idle else self._connect()
            return await self._round_trip(connection, (("ASKING",), command))

    async def _round_trip(
        self, connection: AbstractConnection, commands: tuple[tuple[Any, ...], ...]
    ) -> Any:
        """Send ``commands`` in one write and read every reply, so the connection goes
        back to the pool in step whatever the replies; the last reply is the answer, and
        the first error reply is raised."""
        refused: ResponseError | None = None
        try:
            if len(commands) == 1:
                await connection.send_command(*commands[0])
            else:
                await connection.send_packed_command(connection.pack_commands(commands))
            for _ in commands:
                try:
                    reply = await connection.read_response()
                except ResponseError as error:  # an error reply leaves the socket usable
                    refused = refused or error
        except BaseException:
            # Failed or cancelled mid-command: the socket may hold a late reply. Closed
            # without waiting for the peer, which may be the frozen server we gave up on.
            await connection.disconnect(nowait=True)
            raise
        self._idle.append(connection)
        if refused is not None:
            raise refused
        return reply

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.disconnect()
