"""The real ``loop-server`` declines permessage-deflate, which every browser offers: an
accepted one keeps zlib state per socket (an idle socket took 72 KiB of the server's
memory with it, 33 KiB without; ``bench/websocket_idle.py``), for messages of a few
hundred bytes."""

from __future__ import annotations

from pathlib import Path

from websockets.asyncio.client import connect

from tests.server.clients import loop_server
from tests.support.waiting import DEADLINE


async def test_sockets_are_not_compressed(tmp_path: Path) -> None:
    with loop_server(tmp_path) as server:
        url = f"ws://127.0.0.1:{server.port}/v0/signalling"
        async with connect(url, open_timeout=DEADLINE) as socket:  # offers permessage-deflate
            assert socket.request is not None and socket.response is not None
            assert "permessage-deflate" in socket.request.headers["Sec-WebSocket-Extensions"]
            assert "Sec-WebSocket-Extensions" not in socket.response.headers
