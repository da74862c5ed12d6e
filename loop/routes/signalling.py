"""The ``webrtc`` provider's signalling socket, ``/signalling`` (and ``/v0/signalling``).

The endpoint only moves text between the socket and :class:`SignallingSession`, and bounds
the wait for the ``hello``; the protocol itself lives in :mod:`loop.signalling`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from loop.services import services
from loop.signalling.hub import Signalling
from loop.signalling.messages import CLOSE_TIMEOUT, CLOSE_UNAVAILABLE, error
from loop.signalling.session import SignallingSession
from loop.web.sockets import next_text, text_of


class SocketTransport:
    """Serialises sends (the client's messages and the channel's events both answer), and
    ignores a socket that is already gone: a departure is handled by the receive loop."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self._lock = asyncio.Lock()

    async def send(self, message: dict[str, Any]) -> None:
        async with self._lock:
            if self._open():
                with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
                    await self.websocket.send_text(json.dumps(message, separators=(",", ":")))

    async def close(self, code: int) -> None:
        async with self._lock:
            if self._open():
                with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
                    await self.websocket.close(code)

    def _open(self) -> bool:
        return (
            self.websocket.application_state is WebSocketState.CONNECTED
            and self.websocket.client_state is WebSocketState.CONNECTED
        )


async def signalling_endpoint(websocket: WebSocket) -> None:
    await websocket.accept()
    svc = services(websocket)
    hub: Signalling = websocket.app.state.signalling
    transport = SocketTransport(websocket)
    if svc.storage.secrets_diverged:  # its token would fail as forged: say "try later"
        await transport.send(error("unavailable"))
        await transport.close(CLOSE_UNAVAILABLE)
        return
    session = SignallingSession(svc, hub, transport)
    hello_deadline = asyncio.get_running_loop().time() + svc.settings.webrtc.hello_timeout
    try:
        while not session.closed:
            try:
                if session.joined:  # awaited here: no helper frame kept while idle
                    text = text_of(await websocket.receive())
                else:
                    timeout = max(0.0, hello_deadline - asyncio.get_running_loop().time())
                    text = await next_text(websocket, timeout)
            except TimeoutError:
                await transport.send(error("timeout"))
                await transport.close(CLOSE_TIMEOUT)
                break
            if text is None:
                break
            await session.receive(text)
    finally:
        await session.finish()


routes: list[BaseRoute] = [WebSocketRoute("/signalling", signalling_endpoint)]
