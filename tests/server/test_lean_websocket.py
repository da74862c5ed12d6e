"""The lean websocket protocol (``loop/web/websocket.py``) behind the production HTTP
protocol, on a real uvicorn with a small ASGI app: the wire behaviours uvicorn's own
protocol had and the call and signalling tests do not reach (message size cap, keep-alive
pings, handshake refusals, read and write back-pressure).

Some tests speak the protocol over a raw socket: a client library would answer pings
itself or refuse to send what the server must refuse."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import os
import struct
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from loop.web.server import ConnectionLimits, protocol_class
from loop.web.websocket import LeanWebSocketProtocol, SharedValues
from tests.support.ports import bound_socket, port_of
from tests.support.waiting import DEADLINE, eventually

MAX_SIZE = 1024
PING_INTERVAL = 0.1
PING_TIMEOUT = 0.3
LIMITS = ConnectionLimits(header_timeout=5, body_timeout=5, max_connections=64, drain_timeout=1)

PING, PONG, CLOSE, TEXT = 0x9, 0xA, 0x8, 0x1
CHAT = Subprotocol("chat")


class EchoApp:
    """Accepts (or refuses, on ``/refuse``), says what it saw, then echoes every message.
    On ``/held`` it reads nothing until ``release`` is set; on ``/flood`` it sends until
    the client goes. ``ended`` holds how each socket ended."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.ended: list[str] = []
        self.headers: list[list[tuple[bytes, bytes]]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            return
        assert (await receive())["type"] == "websocket.connect"
        self.headers.append(scope["headers"])
        if scope["path"] == "/refuse":
            await send({"type": "websocket.close"})
            return
        chosen = "chat" if "chat" in scope["subprotocols"] else None
        await send({"type": "websocket.accept", "subprotocol": chosen})
        seen = {"path": scope["path"], "query": scope["query_string"].decode()}
        await send({"type": "websocket.send", "text": repr(sorted(seen.items()))})
        if scope["path"] == "/flood":
            await self._flood(send)
            return
        if scope["path"] == "/held":
            await self.release.wait()
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                self.ended.append(f"disconnect {message['code']}")
                return
            await send({**message, "type": "websocket.send"})

    async def _flood(self, send: Any) -> None:
        chunk = b"x" * 65536
        try:
            while True:
                await send({"type": "websocket.send", "bytes": chunk})
        except OSError:
            self.ended.append("client gone")


@contextlib.asynccontextmanager
async def serving(
    limits: ConnectionLimits = LIMITS,
) -> AsyncIterator[tuple[int, EchoApp, uvicorn.Server]]:
    app = EchoApp()
    config = uvicorn.Config(
        app,
        log_config=None,
        lifespan="off",
        http=protocol_class(limits),
        ws=LeanWebSocketProtocol,
        ws_max_size=MAX_SIZE,
        ws_ping_interval=PING_INTERVAL,
        ws_ping_timeout=PING_TIMEOUT,
    )
    server = uvicorn.Server(config)
    with bound_socket() as sock:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        await eventually(lambda: server.started or task.done(), what="uvicorn start")
        try:
            yield port_of(sock), app, server
        finally:
            server.should_exit = True
            await asyncio.wait_for(task, DEADLINE)


def sockets_of(server: uvicorn.Server) -> list[LeanWebSocketProtocol]:
    return [c for c in server.server_state.connections if isinstance(c, LeanWebSocketProtocol)]


async def test_messages_round_trip_whole_and_fragmented() -> None:
    async with serving() as (port, _app, _server):
        url = f"ws://127.0.0.1:{port}/echo?room=1"
        async with connect(url, subprotocols=[CHAT], open_timeout=DEADLINE) as socket:
            assert socket.subprotocol == "chat"
            assert await socket.recv() == "[('path', '/echo'), ('query', 'room=1')]"
            await socket.send("hello")
            assert await socket.recv() == "hello"
            await socket.send(b"\x00\xff")
            assert await socket.recv() == b"\x00\xff"
            await socket.send(["frag", "mented"])
            assert await socket.recv() == "fragmented"


async def test_sockets_share_the_header_pairs_they_send_alike() -> None:
    async with serving() as (port, app, _server):
        url = f"ws://127.0.0.1:{port}/echo"
        async with connect(url, open_timeout=DEADLINE) as one:
            async with connect(url, open_timeout=DEADLINE) as two:
                await one.recv()
                await two.recv()
        first, second = ({pair[0]: pair for pair in headers} for headers in app.headers)
        assert first[b"upgrade"] == (b"upgrade", b"websocket")
        assert first[b"upgrade"] is second[b"upgrade"]
        assert first[b"user-agent"] is second[b"user-agent"]
        assert first[b"sec-websocket-key"] != second[b"sec-websocket-key"]


def test_shared_values_stop_growing_at_their_limit() -> None:
    values = SharedValues(limit=2)
    a, b = (b"x", b"1"), (b"x", b"2")
    assert values.get(a) is a and values.get(b) is b
    assert values.get((b"x", b"1")) is a
    c = (b"x", b"3")
    assert values.get(c) is c and len(values) == 2


async def test_a_message_over_the_size_cap_closes_1009() -> None:
    async with serving() as (port, app, _server):
        async with connect(f"ws://127.0.0.1:{port}/echo", open_timeout=DEADLINE) as socket:
            await socket.recv()
            await socket.send("x" * (MAX_SIZE + 1))
            await asyncio.wait_for(socket.wait_closed(), DEADLINE)
            assert socket.close_code == 1009
        await eventually(lambda: app.ended == ["disconnect 1009"], what="the app told")


async def test_text_that_is_not_utf8_closes_1007() -> None:
    async with serving() as (port, app, _server):
        reader, writer = await raw_handshake(port, "/echo")
        await read_101(reader)
        assert (await read_frame(reader))[0] == TEXT
        writer.write(client_frame(TEXT, b"caf\xe9"))
        opcode, payload = await read_frame(reader, skip_pings=True)
        assert opcode == CLOSE and struct.unpack("!H", payload[:2]) == (1007,)
        assert await asyncio.wait_for(reader.read(), DEADLINE) == b""
        writer.close()
        await eventually(lambda: app.ended == ["disconnect 1007"], what="the app told")


async def test_a_refusal_before_accept_answers_403() -> None:
    async with serving() as (port, _app, _server):
        reader, writer = await raw_handshake(port, "/refuse")
        answer = await asyncio.wait_for(reader.read(), DEADLINE)
        assert answer.startswith(b"HTTP/1.1 403 Forbidden\r\n"), answer
        writer.close()


async def test_a_bad_handshake_answers_400() -> None:
    async with serving() as (port, _app, _server):
        reader, writer = await raw_handshake(port, "/echo", version="8")
        answer = await asyncio.wait_for(reader.read(), DEADLINE)
        assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n"), answer
        assert b"invalid Sec-WebSocket-Version header: 8" in answer
        writer.close()


async def test_a_peer_answering_pings_stays_connected() -> None:
    async with serving() as (port, _app, _server):
        reader, writer = await raw_handshake(port, "/echo")
        await read_101(reader)
        assert (await read_frame(reader))[0] == TEXT
        for _ in range(3):  # each pong arms the next ping
            opcode, payload = await read_frame(reader)
            assert opcode == PING and len(payload) == 4
            writer.write(client_frame(PONG, payload))
        writer.write(client_frame(TEXT, b"still here"))
        opcode, payload = await read_frame(reader)
        while opcode == PING:  # a ping may come first: answered, the socket stays open
            writer.write(client_frame(PONG, payload))
            opcode, payload = await read_frame(reader)
        assert (opcode, payload) == (TEXT, b"still here")
        writer.close()


async def test_a_peer_silent_to_pings_is_closed_1011() -> None:
    async with serving() as (port, _app, _server):
        reader, writer = await raw_handshake(port, "/echo")
        await read_101(reader)
        assert (await read_frame(reader))[0] == TEXT
        opcode, _payload = await read_frame(reader)
        assert opcode == PING
        opcode, payload = await read_frame(reader)  # no pong: within the ping timeout
        assert opcode == CLOSE and struct.unpack("!H", payload[:2]) == (1011,)
        assert await asyncio.wait_for(reader.read(), DEADLINE) == b""
        writer.close()


async def test_reading_pauses_while_the_app_has_a_message_unread() -> None:
    async with serving() as (port, app, server):
        async with connect(f"ws://127.0.0.1:{port}/held", open_timeout=DEADLINE) as socket:
            await socket.recv()
            for text in ("one", "two", "three"):
                await socket.send(text)
            [protocol] = sockets_of(server)
            await eventually(lambda: protocol._read_paused, what="reading paused")
            app.release.set()
            assert [await socket.recv() for _ in range(3)] == ["one", "two", "three"]
            assert not protocol._read_paused


async def test_a_client_not_reading_pauses_the_app_until_it_goes() -> None:
    async with serving() as (port, app, server):
        reader, writer = await raw_handshake(port, "/flood")
        await read_101(reader)
        [protocol] = sockets_of(server)
        await eventually(lambda: protocol._drained is not None, what="writing paused")
        assert app.ended == []  # the app waits: its sends are not buffered without bound
        writer.transport.abort()
        await eventually(lambda: app.ended == ["client gone"], what="the app told")


async def test_open_sockets_count_toward_the_connection_cap_and_are_never_shed() -> None:
    limits = dataclasses.replace(LIMITS, max_connections=3, header_timeout=DEADLINE * 2)
    async with serving(limits) as (port, _app, _server):
        async with contextlib.AsyncExitStack() as stack:
            url = f"ws://127.0.0.1:{port}/echo"
            held = [
                await stack.enter_async_context(connect(url, open_timeout=DEADLINE))
                for _ in range(3)
            ]
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            assert await asyncio.wait_for(reader.read(), DEADLINE) == b""  # the newcomer
            writer.close()
            for socket in held:
                await socket.recv()
                await socket.send("still served")
                assert await socket.recv() == "still served"


async def test_shutdown_closes_open_sockets_1012() -> None:
    async with serving() as (port, _app, server):
        async with connect(f"ws://127.0.0.1:{port}/echo", open_timeout=DEADLINE) as socket:
            await socket.recv()
            server.should_exit = True
            try:
                await asyncio.wait_for(socket.recv(), DEADLINE)
                raise AssertionError("the socket stayed open")
            except ConnectionClosed:
                pass
            assert socket.close_code == 1012


async def raw_handshake(
    port: int, path: str, *, version: str = "13"
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        f"Sec-WebSocket-Version: {version}\r\n\r\n".encode()
    )
    return reader, writer


async def read_101(reader: asyncio.StreamReader) -> None:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), DEADLINE)
    assert head.startswith(b"HTTP/1.1 101 Switching Protocols\r\n"), head


async def read_frame(
    reader: asyncio.StreamReader, *, skip_pings: bool = False
) -> tuple[int, bytes]:
    """One unfragmented server frame of under 126 bytes: (opcode, payload); the first
    that is not a keep-alive ping with ``skip_pings``."""
    while True:
        first, second = await asyncio.wait_for(reader.readexactly(2), DEADLINE)
        assert first & 0x80 and not second & 0x80 and second < 126  # FIN, unmasked, short
        payload = await asyncio.wait_for(reader.readexactly(second), DEADLINE)
        if not (skip_pings and first & 0x0F == PING):
            return first & 0x0F, payload


def client_frame(opcode: int, payload: bytes) -> bytes:
    """A final, masked client frame of under 126 bytes."""
    mask = os.urandom(4)
    masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked
