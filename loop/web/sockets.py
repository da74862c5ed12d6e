"""What both websockets (call progress, signalling) need from Starlette's socket."""

from __future__ import annotations

import asyncio

from starlette.websockets import WebSocket


async def next_text(websocket: WebSocket, timeout: float | None = None) -> str | None:
    """The client's next message as text, ``None`` once it has gone; raises
    ``TimeoutError`` after ``timeout`` seconds. A binary frame is decoded leniently: what
    it says is the protocol's to refuse, not a reason to drop the connection here."""
    if timeout is None:  # no wait_for coroutine frame kept by every idle socket
        message = await websocket.receive()
    else:
        message = await asyncio.wait_for(websocket.receive(), timeout)
    if message["type"] == "websocket.disconnect":
        return None
    text = message.get("text")
    if text is None:
        text = (message.get("bytes") or b"").decode("utf-8", "replace")
    return str(text)
