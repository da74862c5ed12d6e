"""The call-progress websocket (loop-api.md §1.1, §6): served at the root only, at the
configured ``progress_url_endpoint``, and answered by :class:`ProgressSocket`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from typing import Any

from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketState

from loop.calls.progress_socket import ProgressSocket
from loop.services import Services
from loop.web.sockets import text_of


class StarletteTransport:
    """Serialises sends: the socket's pump and its request handling may both send."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self._lock = asyncio.Lock()

    async def send(self, message: dict[str, Any]) -> None:
        async with self._lock:
            await self.websocket.send_text(json.dumps(message))

    async def close(self) -> None:
        async with self._lock:
            if self.websocket.application_state is WebSocketState.CONNECTED:
                await self.websocket.close()


async def progress_endpoint(websocket: WebSocket) -> None:
    """No Origin check and no subprotocol: real clients send neither consistently."""
    await websocket.accept()
    svc: Services = websocket.app.state.services
    socket = ProgressSocket(svc, StarletteTransport(websocket))
    try:
        while not socket.closed:
            text = text_of(await websocket.receive())
            if text is None:
                break
            await socket.receive(text)
    finally:
        await socket.finish()


class ProgressRoute(BaseRoute):
    """Matches websocket requests on the app's configured endpoint (read per request,
    since routes are built before settings are known)."""

    path_format = "{progress_url_endpoint}"
    """How the request log names it (the setting that holds its path)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "websocket":
            return Match.NONE, {}
        endpoint = scope["app"].state.settings.progress_url_endpoint
        return (Match.FULL, {}) if scope["path"] == endpoint else (Match.NONE, {})

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NoMatchFound(name, path_params)

    def handle(self, scope: Scope, receive: Receive, send: Send) -> Coroutine[Any, Any, None]:
        """The endpoint's coroutine, for the router to await: no frame of this method
        stays on every idle socket's stack."""
        return progress_endpoint(WebSocket(scope, receive=receive, send=send))


routes: list[BaseRoute] = [ProgressRoute()]
