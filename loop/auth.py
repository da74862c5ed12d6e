"""Authentication policies per endpoint (loop-api.md §3.2-§3.6, decisions D15, D26).

Routes call exactly one of these at the point the spec's validation order puts it. Each
either returns who the caller is or raises the spec's :class:`~loop.errors.LoopError`
(with its ``WWW-Authenticate``). On a verified Hawk request the ``Server-Authorization``
header is left in the scope for the middleware to send, whatever the answer.
"""

from __future__ import annotations

import dataclasses

from starlette.requests import Request

from loop.storage import Session


@dataclasses.dataclass(frozen=True, slots=True)
class Anonymous:
    """No ``Authorization`` header (link-clickers)."""


@dataclasses.dataclass(frozen=True, slots=True)
class HawkCaller:
    session: Session
    hawk_id: str
    """The Hawk id as sent (needed to decrypt the session's identity)."""


@dataclasses.dataclass(frozen=True, slots=True)
class ParticipantToken:
    """``Authorization: Basic base64(token[:])``: a link-clicker's media token (§3.6).

    Only decoded here; it is valid iff a live participant of the room in the URL has
    ``participant_id`` (the room route checks, answering 401 ``Invalid token; it may have
    expired.`` otherwise)."""

    participant_id: str
    """HMAC(userMacSecret, token)."""


RoomCaller = Anonymous | HawkCaller | ParticipantToken


async def require_hawk(request: Request) -> HawkCaller:
    """Policy **Hawk**: a valid Hawk header is required (§3.3, D15)."""
    raise NotImplementedError


async def require_registered(request: Request) -> HawkCaller:
    """Policy **Hawk, registered**: Hawk, then 403 errno 110 unless bound to an identity."""
    raise NotImplementedError


async def hawk_or_create(request: Request) -> tuple[HawkCaller, str | None]:
    """Policy **Hawk-or-create** (``/registration``): no header creates a session and
    returns its token (to send in ``Hawk-Session-Token``); ``Hawk`` verifies; other
    schemes are 401 ``Unsupported``."""
    raise NotImplementedError


async def room_caller(request: Request) -> RoomCaller:
    """Policy **Hawk-or-room-token** (``GET/POST /rooms/{token}``): none, Hawk (verified)
    or Basic (decoded only); other schemes are 401 ``Unsupported`` with
    ``WWW-Authenticate: Basic,Hawk error="Unsupported"``."""
    raise NotImplementedError
