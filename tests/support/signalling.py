"""A plain WebSocket client of the signalling socket (docs/signalling.md), for tests.

Every wait is bounded by the suite's one ``DEADLINE``; ``expect_*`` helpers assert the
exact message.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.support.waiting import DEADLINE


class SignalSocket:
    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.id = ""

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, url: str) -> AsyncIterator[SignalSocket]:
        async with connect(url, open_timeout=DEADLINE, max_size=None) as connection:
            yield cls(connection)

    async def send(self, message: Any) -> None:
        if isinstance(message, str | bytes):
            await self.connection.send(message)
        else:
            await self.connection.send(json.dumps(message))

    async def receive(self) -> dict[str, Any]:
        text = await asyncio.wait_for(self.connection.recv(), DEADLINE)
        message: dict[str, Any] = json.loads(text)
        return message

    async def hello(self, token: str) -> dict[str, Any]:
        """Say hello and return the welcome (asserting it is one)."""
        await self.send({"type": "hello", "token": token})
        welcome = await self.receive()
        assert welcome["type"] == "welcome", welcome
        self.id = welcome["id"]
        return welcome

    async def expect(self, expected: dict[str, Any]) -> None:
        assert await self.receive() == expected

    async def expect_error(self, reason: str) -> None:
        """An error that leaves the socket open: a ping still gets its pong."""
        await self.expect({"type": "error", "reason": reason})
        await self.send({"type": "ping"})
        await self.expect({"type": "pong"})

    async def expect_closed(self, code: int) -> None:
        """The server closes with ``code``; nothing more arrives before the close."""
        try:
            extra = await asyncio.wait_for(self.connection.recv(), DEADLINE)
        except ConnectionClosed as closed:
            assert closed.rcvd is not None and closed.rcvd.code == code, closed
            return
        raise AssertionError(f"unexpected message before close: {extra!r}")

    async def expect_bye(self, reason: str) -> None:
        await self.expect({"type": "bye", "reason": reason})
        await self.expect_closed(4000)

    async def expect_refused(self, reason: str, code: int) -> None:
        await self.expect({"type": "error", "reason": reason})
        await self.expect_closed(code)
