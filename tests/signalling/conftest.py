"""A real server (uvicorn on a free port, ``webrtc`` provider, background jobs on) for the
signalling socket, on both backends; clients are plain WebSocket connections."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import uvicorn

from loop.app import Services, create_app
from loop.clock import SystemClock
from loop.config import MediaSettings, RoomsSettings, WebRTCSettings
from loop.web.websocket import LeanWebSocketProtocol
from tests.routes.conftest import Harness
from tests.support.app import make_settings
from tests.support.client import HawkSession, LoopClient
from tests.support.ports import bound_socket, port_of
from tests.support.rooms import basic, create_room, join
from tests.support.waiting import DEADLINE, eventually


@dataclasses.dataclass
class Joined:
    """A join answer, and how its holder talks to the room afterwards."""

    answer: dict[str, Any]
    session: HawkSession | None

    @property
    def token(self) -> str:
        token: str = self.answer["sessionToken"]
        return token

    @property
    def headers(self) -> dict[str, str] | None:
        return basic(self.token) if self.session is None else None


@dataclasses.dataclass
class LiveServer:
    services: Services
    harness: Harness
    port: int

    @property
    def client(self) -> LoopClient:
        return self.harness.client

    def url(self, path: str = "/signalling") -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    async def room(self, **fields: Any) -> tuple[HawkSession, str]:
        """A new room: its owner's session and the room token."""
        owner = await self.client.register()
        created = await create_room(self.harness, owner, **fields)
        return owner, created["roomToken"]

    async def join(
        self, room: str, session: HawkSession | None = None, name: str = "Guest"
    ) -> Joined:
        response = await join(self.harness, room, session, name=name)
        assert response.status_code == 200, response.text
        return Joined(response.json(), session)

    async def act(self, room: str, who: Joined, action: str) -> httpx.Response:
        body = {"action": action}
        return await self.client.post(
            f"/rooms/{room}", json=body, hawk=who.session, headers=who.headers
        )


ServerFactory = Callable[..., contextlib.AbstractAsyncContextManager[LiveServer]]


@pytest.fixture
def live_server(storage_url: str) -> ServerFactory:
    """``async with live_server(participant_ttl=..., webrtc=WebRTCSettings(...))``."""

    @contextlib.asynccontextmanager
    async def start(
        participant_ttl: float = 300, webrtc: WebRTCSettings | None = None, **overrides: Any
    ) -> AsyncIterator[LiveServer]:
        with bound_socket() as sock:  # our port from the start: no other run can take it
            port = port_of(sock)
            settings = make_settings(
                storage_url,
                media=MediaSettings(provider="webrtc"),
                public_server_address=f"127.0.0.1:{port}",
                rooms=RoomsSettings(participant_ttl=participant_ttl),
                webrtc=webrtc or WebRTCSettings(membership_check_interval=0.1),
                **overrides,
            )
            app = create_app(settings, clock=SystemClock(), background_jobs=True)
            server = uvicorn.Server(
                uvicorn.Config(app, log_config=None, lifespan="on", ws=LeanWebSocketProtocol)
            )
            task = asyncio.create_task(server.serve(sockets=[sock]))
            await eventually(lambda: server.started or task.done(), what="uvicorn start")
            services: Services = app.state.services
            await services.storage.flush()
            try:
                async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                    client = LoopClient(http, SystemClock())
                    # A real server runs on real time: the room helpers only use the client.
                    harness = Harness(services, SystemClock(), client)  # type: ignore[arg-type]
                    yield LiveServer(services, harness, port)
            finally:
                server.should_exit = True
                await asyncio.wait_for(task, DEADLINE)

    return start
