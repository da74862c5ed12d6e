"""What an idle websocket costs the real ``loop-server`` (issue 13 item 7).

It declines permessage-deflate, which every browser offers: an accepted one keeps zlib
state per socket (an idle socket took 72 KiB of the server's memory with it, 33 KiB
without), for messages of a few hundred bytes. And an idle call-progress socket, said
hello on its call, takes at most :data:`BOUND_KIB` of the server's resident memory: the
lean websocket protocol (``loop/web/websocket.py``) keeps no handshake objects, queue or
event per socket, and the call's socket holds no task while nothing is to be delivered.
``bench/websocket_idle.py`` measures the same at 2,000 and 10,000 sockets.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect

from tests.server.clients import loop_server
from tests.support.idle_calls import file_calls, raise_file_limit, rss_kib, say_hello
from tests.support.waiting import DEADLINE

HELD = 2000
"""Idle sockets measured: enough that allocator noise (a MiB or two, even with huge
pages) stays near a KiB per socket, few enough to open in a couple of seconds."""
BOUND_KIB = 24
BATCH = 100
"""Sockets opened concurrently."""


async def test_sockets_are_not_compressed(tmp_path: Path) -> None:
    with loop_server(tmp_path) as server:
        url = f"ws://127.0.0.1:{server.port}/v0/signalling"
        async with connect(url, open_timeout=DEADLINE) as socket:  # offers permessage-deflate
            assert socket.request is not None and socket.response is not None
            assert "permessage-deflate" in socket.request.headers["Sec-WebSocket-Extensions"]
            assert "Sec-WebSocket-Extensions" not in socket.response.headers


async def test_an_idle_call_socket_takes_at_most_24_kib(tmp_path: Path) -> None:
    calls = await file_calls(f"sqlite:///{tmp_path / 'loop.db'}", HELD + 1, prefix="idle")
    files = HELD + 512  # the server's reserved files (128) and its own
    raise_file_limit(files)
    timers = {"LOOP_CALL_DURATION": "3600", "LOOP_TIMERS__SUPERVISORY_DURATION": "1200"}
    with loop_server(tmp_path, file_limit=files, settings=timers) as server:
        url = f"ws://127.0.0.1:{server.port}/websocket"
        warm = await say_hello(url, calls[0])  # first-use imports and caches
        before = rss_kib(server.process.pid)
        held: list[ClientConnection] = []
        for start in range(1, len(calls), BATCH):
            batch = calls[start : start + BATCH]
            held += await asyncio.gather(*(say_hello(url, call) for call in batch))
        after = rss_kib(server.process.pid)
        for socket in [warm, *held[:: HELD // 10]]:  # still served
            await socket.send(json.dumps({"messageType": "echo", "echo": 7}))
            answer = json.loads(await asyncio.wait_for(socket.recv(), DEADLINE))
            assert answer == {"messageType": "echo", "echo": 7}
        per_socket = (after - before) / HELD
        assert per_socket <= BOUND_KIB, f"{per_socket:.1f} KiB per idle socket"
        await asyncio.gather(*(socket.close() for socket in [warm, *held]))
