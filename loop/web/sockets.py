"""What both websockets (call progress, signalling) need from Starlette's socket."""

from __future__ import annotations

import asyncio

from starlette.types import Message
from starlette.websockets import WebSocket


async def next_text(websocket: WebSocket, timeout: float) -> str | None:
    """The client's next message as text (:func:`text_of`); raises ``TimeoutError`` after
    ``timeout`` seconds. Without a timeout, ``text_of(await websocket.receive())`` keeps
    no frame of this coroutine (nor of ``wait_for``) on every idle socket's stack."""
    return text_of(await asyncio.wait_for(websocket.receive(), timeout))


def text_of(message: Message) -> str | None:
    """A received ASGI message as text, ``None`` once the client has gone. A binary frame
    is decoded leniently: what it says is the protocol's to refuse, not a reason to drop
    the connection here. (A function, not a coroutine: an idle socket awaiting
    ``websocket.receive()`` keeps one coroutine frame fewer.)"""
    if message["type"] == "websocket.disconnect":
        return None
    text = message.get("text")
    if text is None:
        text = (message.get("bytes") or b"").decode("utf-8", "replace")
    return str(text)
