"""What a client may send on the signalling socket, checked, and the answers' words.

Client messages are JSON objects with a string ``type``; anything else is a
``bad-message`` (the socket stays open). ``data`` of a ``signal`` is opaque to the server
but must be a JSON object (the pages put a session description or an ICE candidate in it).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from loop import jsonutil

# Close codes (docs/signalling.md).
CLOSE_BYE = 4000
CLOSE_REFUSED = 4401
CLOSE_TIMEOUT = 4408
CLOSE_TOO_LARGE = 4413
CLOSE_RATE_LIMITED = 4429
CLOSE_UNAVAILABLE = 1011

ID_LIMIT = 128
"""Longest peer id or token a client may name (real ones are far shorter)."""
TOKEN_LIMIT = 8192


class BadMessage(ValueError):
    """Not a message this protocol knows, or one with wrong field types."""


@dataclasses.dataclass(frozen=True, slots=True)
class Hello:
    token: str


@dataclasses.dataclass(frozen=True, slots=True)
class Signal:
    to: str
    data: dict[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class Remove:
    id: str


@dataclasses.dataclass(frozen=True, slots=True)
class Ping:
    pass


ClientMessage = Hello | Signal | Remove | Ping


def parse(text: str) -> ClientMessage:
    """The client's message; raises BadMessage."""
    try:
        value = jsonutil.loads(text)
    except ValueError:
        raise BadMessage("not JSON") from None
    if not isinstance(value, dict):
        raise BadMessage("not an object")
    kind = value.get("type")
    if kind == "hello":
        return Hello(_string(value, "token", TOKEN_LIMIT))
    if kind == "signal":
        data = value.get("data")
        if not isinstance(data, dict):
            raise BadMessage("data must be an object")
        return Signal(_string(value, "to", ID_LIMIT), data)
    if kind == "remove":
        return Remove(_string(value, "id", ID_LIMIT))
    if kind == "ping":
        return Ping()
    raise BadMessage("unknown type")


def _string(value: dict[str, Any], field: str, limit: int) -> str:
    text = value.get(field)
    if not isinstance(text, str) or not text or len(text) > limit:
        raise BadMessage(f"{field} must be a non-empty string")
    return text


def error(reason: str) -> dict[str, Any]:
    return {"type": "error", "reason": reason}


def peer_view(peer_id: str, data: str | None) -> dict[str, Any]:
    """A member as the others see it: its id and the D3 object, parsed."""
    return {"id": peer_id, "data": parse_data(data)}


def parse_data(data: str | None) -> Any:
    if data is None:
        return {}
    try:
        return json.loads(data)
    except ValueError:
        return {}
