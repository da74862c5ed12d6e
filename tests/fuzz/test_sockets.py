"""A small seeded fuzz of the two websockets, on both backends: call progress (``/websocket``,
loop-api.md §6) and signalling (``/signalling``, docs/signalling.md).

Each example opens one socket on a real server and sends a few messages: real and hostile
hellos, actions, signals, echoes of hostile values, raw text JSON cannot hold, binary
frames. After each message a probe (an ``echo``, a ``ping``) bounds the wait for the
answers. Every frame the server sends must be a JSON object of the protocol, and a socket
the server closes must close with a code of the protocol: never 1011 (an unexpected
failure: the storage does not fail here) nor without a close frame. The server must still
answer HTTP afterwards.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from anyio.from_thread import start_blocking_portal
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from loop.app import Services, create_app
from loop.clock import SystemClock
from loop.config import MediaSettings
from loop.web.websocket import LeanWebSocketProtocol
from tests.fuzz.runner import SEED
from tests.fuzz.values import RAW_LITERALS, hostile, pick
from tests.support.app import make_settings
from tests.support.calls import sign_in
from tests.support.client import LoopClient
from tests.support.ports import bound_socket, port_of
from tests.support.waiting import DEADLINE, eventually

EXAMPLES = int(os.environ.get("LOOP_FUZZ_SOCKET_EXAMPLES", "150"))
ALLOWED_CLOSES = {1000, 1001, 1005, 4000, 4401, 4408, 4413, 4429}
"""Close codes of the protocols (1005: closed without a code); 1011 and 1006 are not."""


@contextlib.asynccontextmanager
async def live(storage_url: str, push_url: str) -> AsyncIterator[Server]:
    """uvicorn on a port of ours, the ``webrtc`` provider (so ``/signalling`` exists), a
    call between two users and a room with a participant."""
    with bound_socket() as sock:
        port = port_of(sock)
        settings = make_settings(
            storage_url,
            media=MediaSettings(provider="webrtc"),
            public_server_address=f"127.0.0.1:{port}",
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
                yield await Server.set_up(services, client, port, push_url)
        finally:
            server.should_exit = True
            await asyncio.wait_for(task, DEADLINE)


class Server:
    def __init__(self, client: LoopClient, port: int) -> None:
        self.client = client
        self.port = port
        self.call: dict[str, Any] = {}
        self.media_token = ""
        self.frames: collections.Counter[str] = collections.Counter()
        self.closes: collections.Counter[int] = collections.Counter()
        self.failures: list[str] = []

    @classmethod
    async def set_up(
        cls, services: Services, client: LoopClient, port: int, push_url: str
    ) -> Server:
        server = cls(client, port)
        alice = await sign_in(services, client, "alice@example.com")
        await sign_in(services, client, "bob@example.com", {"calls": push_url})
        body = {"calleeId": "bob@example.com", "callType": "audio-video"}
        answer = await client.post("/calls", json=body, hawk=alice)
        assert answer.status_code == 200, answer.text
        server.call = answer.json()
        room = await client.post(
            "/rooms", json={"roomOwner": "A", "maxSize": 5, "roomName": "r"}, hawk=alice
        )
        assert room.status_code == 201, room.text
        joined = await client.post(
            f"/rooms/{room.json()['roomToken']}",
            json={"action": "join", "displayName": "B", "clientMaxSize": 5},
        )
        assert joined.status_code == 200, joined.text
        server.media_token = joined.json()["sessionToken"]
        return server

    def resolve(self, value: Any) -> Any:
        """``"$callId"``, ``"$auth"`` and ``"$token"`` become the real ones."""
        real = {
            "$callId": self.call.get("callId"),
            "$auth": self.call.get("websocketToken"),
            "$token": self.media_token,
        }
        if isinstance(value, str):
            return real.get(value, value)
        if isinstance(value, dict):
            return {key: self.resolve(item) for key, item in value.items()}
        return value

    async def run(self, path: str, messages: list[Any]) -> None:
        url = f"ws://127.0.0.1:{self.port}{path}"
        async with connect(url, open_timeout=DEADLINE, max_size=None) as connection:
            for number, message in enumerate(messages):
                frame = message
                if not isinstance(message, str | bytes):
                    frame = json.dumps(self.resolve(message))
                try:
                    await connection.send(frame)
                    if not await self._probe(connection, path, number):
                        return
                except ConnectionClosed as closed:
                    self._closed(path, closed, messages)
                    return
        alive = await self.client.get("/__lbheartbeat__")
        if alive.status_code != 200:
            self.failures.append(f"{path}: HTTP {alive.status_code} after {messages!r}")

    async def _probe(self, connection: ClientConnection, path: str, number: int) -> bool:
        """Send a probe and read every frame up to its answer; ``False`` once closed."""
        if path == "/websocket":
            probe: dict[str, Any] = {"messageType": "echo", "echo": f"probe {number}"}
            answer = probe
        else:
            probe, answer = {"type": "ping"}, {"type": "pong"}
        await connection.send(json.dumps(probe))
        while True:
            text = await asyncio.wait_for(connection.recv(), DEADLINE)
            frame = json.loads(text)
            kind = frame.get("messageType", frame.get("type")) if isinstance(frame, dict) else None
            if not isinstance(kind, str):
                self.failures.append(f"{path}: frame {text!r}")
            self.frames[f"{path} {kind}"] += 1
            if frame == answer:
                return True

    def _closed(self, path: str, closed: ConnectionClosed, messages: list[Any]) -> None:
        code = closed.rcvd.code if closed.rcvd is not None else 1006
        self.closes[code] += 1
        if code not in ALLOWED_CLOSES:
            self.failures.append(f"{path}: closed {code} after {messages!r}"[:2000])


JUNK = hostile(("messageType", "type", "callId", "auth", "token", "event", "to", "data"))
RAW = pick(RAW_LITERALS).map(lambda literal: '{"messageType": "echo", "echo": ' + literal + "}")
PROGRESS = st.one_of(
    st.just({"messageType": "hello", "callId": "$callId", "auth": "$auth"}),
    st.fixed_dictionaries(
        {"messageType": st.just("hello"), "callId": st.just("$callId") | JUNK, "auth": JUNK}
    ),
    st.fixed_dictionaries(
        {
            "messageType": st.just("action"),
            "event": st.sampled_from(["accept", "media-up", "terminate", "x"]) | JUNK,
        },
        optional={"reason": st.sampled_from(["busy", "a b", ""]) | JUNK},
    ),
    st.fixed_dictionaries({"messageType": st.just("echo"), "echo": JUNK}),
    JUNK,
    RAW,
    st.binary(max_size=40),
    st.text(max_size=40),
)
SIGNALLING = st.one_of(
    st.just({"type": "hello", "token": "$token"}),
    st.fixed_dictionaries({"type": st.just("hello"), "token": JUNK}),
    st.fixed_dictionaries(
        {"type": st.just("signal"), "to": JUNK, "data": JUNK | st.just({"candidate": "c"})}
    ),
    st.fixed_dictionaries({"type": st.sampled_from(["remove", "ping", "bye"]), "id": JUNK}),
    JUNK,
    RAW.map(lambda text: text.replace('"messageType": "echo", "echo"', '"type": "signal"')),
    st.binary(max_size=40),
    st.text(max_size=40),
)


@pytest.fixture
def push_url(refused_port: int) -> Iterator[str]:
    yield f"http://127.0.0.1:{refused_port}/push"


def test_no_message_breaks_a_socket(storage_url: str, push_url: str) -> None:
    with start_blocking_portal() as portal:
        with portal.wrap_async_context_manager(live(storage_url, push_url)) as server:

            @seed(SEED)
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(
                st.one_of(
                    st.tuples(st.just("/websocket"), st.lists(PROGRESS, min_size=1, max_size=6)),
                    st.tuples(
                        st.just("/signalling"), st.lists(SIGNALLING, min_size=1, max_size=6)
                    ),
                )
            )
            def run(example: tuple[str, list[Any]]) -> None:
                portal.call(server.run, *example)

            run()
    print(f"sockets: {sum(server.frames.values())} frames {dict(server.frames)}")
    print(f"closes {dict(server.closes)}")
    assert server.failures == []
