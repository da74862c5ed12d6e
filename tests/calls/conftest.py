"""A real server (uvicorn on a free port) and real websocket clients for §6's rules."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import uvicorn
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from loop.app import Services, create_app
from loop.clock import SystemClock
from loop.config import TimersSettings
from loop.web.websocket import LeanWebSocketProtocol
from tests.support.app import make_settings as make_settings
from tests.support.calls import sign_in
from tests.support.client import LoopClient
from tests.support.ports import bound_socket, port_of
from tests.support.push_server import PushServer
from tests.support.waiting import DEADLINE, eventually

SHORT = 0.2
LONG = 30.0


@dataclasses.dataclass
class LiveServer:
    services: Services
    client: LoopClient
    port: int
    push: PushServer

    @property
    def ws_url(self) -> str:
        endpoint = self.services.settings.progress_url_endpoint
        return f"ws://127.0.0.1:{self.port}{endpoint}"

    async def start_call(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """Alice calls Bob: (the caller's answer, Bob's incoming call)."""
        svc, client = self.services, self.client
        alice = await sign_in(svc, client, "alice@example.com")
        bob = await sign_in(svc, client, "bob@example.com", {"calls": self.push.url("/bob")})
        body = {"calleeId": "bob@example.com", "callType": "audio-video"}
        answer = await client.post("/calls", json=body, hawk=alice)
        assert answer.status_code == 200, answer.text
        listed = await client.get("/calls?version=0", hawk=bob)
        [incoming] = listed.json()["calls"]
        return answer.json(), incoming

    async def listed_calls(self) -> list[Any]:
        bob = await sign_in(self.services, self.client, "bob@example.com")
        calls: list[Any] = (await self.client.get("/calls?version=0", hawk=bob)).json()["calls"]
        return calls


ServerFactory = Callable[..., contextlib.AbstractAsyncContextManager[LiveServer]]


@pytest.fixture
def live_server(storage_url: str) -> ServerFactory:
    """``async with live_server(supervisory=0.2, ...) as server``: timers default long."""

    @contextlib.asynccontextmanager
    async def start(
        supervisory: float = LONG,
        ringing: float = LONG,
        connection: float = LONG,
        endpoint: str = "/websocket",
    ) -> AsyncIterator[LiveServer]:
        timers = TimersSettings(supervisory, ringing, connection)
        settings = make_settings(
            storage_url, timers=timers, call_duration=120, progress_url_endpoint=endpoint
        )
        app = create_app(settings, clock=SystemClock(), background_jobs=False)
        config = uvicorn.Config(app, log_config=None, lifespan="on", ws=LeanWebSocketProtocol)
        server = uvicorn.Server(config)
        with bound_socket() as sock:  # our port from the start: no other run can take it
            port = port_of(sock)
            task = asyncio.create_task(server.serve(sockets=[sock]))
            await eventually(lambda: server.started or task.done(), what="uvicorn start")
            services: Services = app.state.services
            await services.storage.flush()
            try:
                with PushServer() as push:
                    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                        yield LiveServer(services, LoopClient(http, SystemClock()), port, push)
            finally:
                server.should_exit = True
                await asyncio.wait_for(task, DEADLINE)

    return start


class Peer:
    """One websocket client of the progress endpoint."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, url: str) -> AsyncIterator[Peer]:
        async with connect(url, open_timeout=DEADLINE) as connection:
            yield cls(connection)

    async def send(self, message: Any) -> None:
        await self.connection.send(message if isinstance(message, str) else json.dumps(message))

    async def receive(self) -> dict[str, Any]:
        text = await asyncio.wait_for(self.connection.recv(), DEADLINE)
        message: dict[str, Any] = json.loads(text)
        return message

    async def hello(self, call_id: str, token: str) -> dict[str, Any]:
        await self.send({"messageType": "hello", "callId": call_id, "auth": token})
        return await self.receive()

    async def action(self, event: str, **extra: Any) -> None:
        await self.send({"messageType": "action", "event": event, **extra})

    async def expect(self, state: str, reason: str | None = None) -> None:
        message = await self.receive()
        expected: dict[str, Any] = {"messageType": "progress", "state": state}
        if reason is not None:
            expected["reason"] = reason
        assert message == expected

    async def expect_error(self, reason: str) -> None:
        assert await self.receive() == {"messageType": "error", "reason": reason}
        await self.expect_closed()

    async def expect_closed(self) -> None:
        """The server closes: nothing more arrives before the close."""
        with pytest.raises(ConnectionClosed):
            extra = await asyncio.wait_for(self.connection.recv(), DEADLINE)
            raise AssertionError(f"unexpected message before close: {extra!r}")
