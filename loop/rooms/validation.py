"""Room request bodies checked the way the original did (loop-api.md §4.12), with the
project's stricter rules: decimal-string numbers (D2) and lower bounds (D5).

Every check raises :class:`~loop.errors.LoopError` 400 with the spec's errno and literal
text, in the spec's order, so the first problem a client has is the one it is told about.
Wrong JSON types (a list for a name, an object for a number, ``null``) are refused here
too: the original let some through and crashed or stored them.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any, Literal

from loop import errors
from loop.config import RoomsSettings
from loop.jsonutil import fits_storage, leading_integer

Action = Literal["join", "refresh", "status", "leave", "logDomain"]
ACTIONS: tuple[Action, ...] = ("join", "refresh", "status", "leave", "logDomain")
ACTION_ERROR = "action should be one of " + ", ".join(ACTIONS)

ALERT = {"Alert": "The roomName parameter has been deprecated, you should use context."}
"""Sent whenever a create/update body carries ``roomName``, errors after that check too."""

CONTEXT_KEYS = ("value", "alg", "wrappedKey")
MIN_MAX_SIZE = 2
MAX_DISPLAY_NAME = 255
"""Not in the original; keeps the media token's data under OpenTok's 1000 characters."""
STATUS_FIELDS = ("event", "state", "connections", "sendStreams", "recvStreams")
STATUS_COUNTERS = ("connections", "sendStreams", "recvStreams")
DOMAINS_ERROR = "Domains must be a list of objects with both a ``domain`` and ``count`` property."

_DECIMAL = re.compile(r"[+-]?[0-9]{1,30}")
VERSION_ERROR = "version should be a valid number"


@dataclasses.dataclass(frozen=True, slots=True)
class RoomParams:
    """The room fields a create or update body carried, validated; ``None`` = not sent."""

    room_name: str | None = None
    context: dict[str, Any] | None = None
    room_owner: str | None = None
    expires_in: int | None = None
    max_size: int | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Status:
    """A ``status`` report: client telemetry, only logged."""

    event: Any
    state: Any
    connections: int
    send_streams: int
    recv_streams: int


def integer(value: Any) -> int | None:
    """An integer sent as a JSON number or a decimal string (D2); ``None`` if not one.

    ``2.0`` counts (JSON does not distinguish it from ``2``); ``2.5``, ``"2.5"``,
    ``"2abc"``, booleans and ``null`` do not, unlike the original's ``parseInt``.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and _DECIMAL.fullmatch(value.strip()):
        number = int(value)
    else:
        return None
    return number if fits_storage(number) else None


def room_params(body: Mapping[str, Any], settings: RoomsSettings) -> RoomParams:
    """Validate a create or update body in the spec's order (§4.12, D5)."""
    room_name = _room_name(body, settings)
    context = _context(body)
    room_owner = _bounded_text(body, "roomOwner", settings.max_room_owner_size)
    return RoomParams(
        room_name=room_name,
        context=context,
        room_owner=room_owner,
        expires_in=_expires_in(body, settings),
        max_size=_max_size(body, settings),
    )


def channel(body: Mapping[str, Any]) -> str:
    """The media channel a new room asks for; empty or absent means ``default``."""
    value = body.get("channel")
    if value is None or value == "":
        return "default"
    if not isinstance(value, str):
        raise errors.invalid_parameters("channel should be a string.")
    return value


def _room_name(body: Mapping[str, Any], settings: RoomsSettings) -> str | None:
    if "roomName" not in body:
        return None
    return _bounded_text(body, "roomName", settings.max_room_name_size)


def _bounded_text(body: Mapping[str, Any], name: str, limit: int) -> str | None:
    if name not in body:
        return None
    value = body[name]
    if not isinstance(value, str):
        raise errors.invalid_parameters(f"{name} should be a string.")
    if len(value) > limit:
        raise errors.invalid_parameters(f"{name} should be shorter than {limit} characters")
    return value


def _context(body: Mapping[str, Any]) -> dict[str, Any] | None:
    if "context" not in body:
        return None
    if "roomName" in body:
        raise errors.invalid_parameters(
            "roomName has been deprecated, please store it encrypted inside the context."
        )
    context = body["context"]
    if not isinstance(context, dict) or not all(key in context for key in CONTEXT_KEYS):
        raise errors.invalid_parameters(
            "context should be an object containing `value`, `alg` and `wrappedKey` properties."
        )
    return context


def _expires_in(body: Mapping[str, Any], settings: RoomsSettings) -> int | None:
    if "expiresIn" not in body:
        return None
    hours = integer(body["expiresIn"])
    if hours is None:
        raise errors.invalid_parameters("expiresIn should be a valid number")
    if hours > settings.max_ttl:
        raise errors.invalid_parameters(f"expiresIn cannot be greater than {settings.max_ttl}")
    if hours < 1:
        raise errors.invalid_parameters("expiresIn should be at least 1")
    return hours


def _max_size(body: Mapping[str, Any], settings: RoomsSettings) -> int | None:
    if "maxSize" not in body:
        return None
    size = integer(body["maxSize"])
    if size is None:
        raise errors.invalid_parameters("maxSize should be a valid number")
    if size > settings.max_size:
        raise errors.invalid_parameters(f"maxSize cannot be greater than {settings.max_size}")
    if size < MIN_MAX_SIZE:
        raise errors.invalid_parameters(f"maxSize should be at least {MIN_MAX_SIZE}")
    return size


def delete_tokens(body: Mapping[str, Any]) -> list[str]:
    """``deleteRoomTokens`` of a bulk delete: a non-empty array of room tokens."""
    tokens = body["deleteRoomTokens"]
    if not isinstance(tokens, list) or not all(isinstance(token, str) for token in tokens):
        raise errors.invalid_parameters("deleteRoomTokens should be an array of room tokens.")
    if not tokens:
        raise errors.invalid_parameters("deleteRoomTokens should not be empty.")
    return tokens


def version(value: str | None) -> int | None:
    """``?version=`` read as ``parseInt`` did; only a positive integer filters the list, and
    one beyond what storage holds is 400/107."""
    number = leading_integer(value or "")
    if number is None:
        raise errors.invalid_parameters(VERSION_ERROR)
    return number if number > 0 else None


def action(body: Mapping[str, Any]) -> Action:
    """``action`` (or the draft's ``operation``, D2): 400/108 absent, 400/107 unknown."""
    name = "action" if "action" in body else "operation"
    if name not in body:
        raise errors.LoopError(400, errors.Errno.MISSING_PARAMETERS, ACTION_ERROR)
    value = body[name]
    for known in ACTIONS:
        if value == known:
            return known
    raise errors.invalid_parameters(ACTION_ERROR)


def join_params(body: Mapping[str, Any]) -> tuple[str, int]:
    """``(displayName, clientMaxSize)`` of a join whose keys are known to be present."""
    size = integer(body["clientMaxSize"])
    if size is None or size < 1:
        raise errors.invalid_parameters("clientMaxSize should be a number.")
    name = body["displayName"]
    if not isinstance(name, str):
        raise errors.invalid_parameters("displayName should be a string.")
    if len(name) > MAX_DISPLAY_NAME:
        raise errors.invalid_parameters(
            f"displayName should be shorter than {MAX_DISPLAY_NAME} characters"
        )
    return name, size


def status(body: Mapping[str, Any]) -> Status:
    """A ``status`` body: every field present, then the counters integers ≥ 0."""
    for field in STATUS_FIELDS:
        if field not in body:
            raise errors.invalid_parameters(f"'{field}' field is missing in body.")
    counters = []
    for field in STATUS_COUNTERS:
        number = integer(body[field])
        if number is None or number < 0:
            raise errors.invalid_parameters(f"Invalid {field} number.")
        counters.append(number)
    return Status(body["event"], body["state"], *counters)


def domains(body: Mapping[str, Any]) -> list[tuple[str, int]]:
    """``logDomain``'s ``[{"domain", "count"}, ...]`` as ``(domain, count)`` pairs."""
    items = body.get("domains")
    if not isinstance(items, list):
        raise errors.invalid_parameters(DOMAINS_ERROR)
    pairs = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("domain"), str):
            raise errors.invalid_parameters(DOMAINS_ERROR)
        count = integer(item.get("count"))
        if count is None or count < 0:
            raise errors.invalid_parameters(DOMAINS_ERROR)
        pairs.append((item["domain"], count))
    return pairs
