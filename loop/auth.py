"""Authentication policies per endpoint (loop-api.md §3.2-§3.6, decisions D15, D26).

Routes call exactly one of these at the point the spec's validation order puts it. Each
either returns who the caller is or raises the spec's :class:`~loop.errors.LoopError`
(with its ``WWW-Authenticate``). On a verified Hawk request the ``Server-Authorization``
header is left in the scope for the middleware to send, whatever the answer.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses

from starlette.requests import Request

from loop import errors, hawk, sessions
from loop.app import services
from loop.config import Settings
from loop.crypto import hmac_hex
from loop.identity import browserid
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
    scheme, attributes = _authorization(request)
    if scheme != hawk.SCHEME:
        raise hawk.missing_credentials()
    return await _verified(request, attributes)


async def require_registered(request: Request) -> HawkCaller:
    """Policy **Hawk, registered**: Hawk, then 403 errno 110 unless bound to an identity."""
    caller = await require_hawk(request)
    if not caller.session.registered:
        raise errors.registered_user_required()
    return caller


async def hawk_or_create(request: Request) -> tuple[HawkCaller, str | None]:
    """Policy **Hawk-or-create** (``/registration``): no header creates a session and
    returns its token (to send in ``Hawk-Session-Token``); ``Hawk`` verifies; ``BrowserID``
    signs in, creating a session bound to the asserted identity (§3.5); other schemes are
    401 ``Unsupported``."""
    scheme, attributes = _authorization(request)
    if scheme == "":
        token, session, hawk_id = await sessions.create_session(services(request))
        return HawkCaller(session, hawk_id), token
    if scheme == hawk.SCHEME:
        return await _verified(request, attributes), None
    if scheme == "browserid":
        token, session, hawk_id = await browserid.sign_in(request)
        return HawkCaller(session, hawk_id), token
    raise errors.unauthorized('BrowserID,Hawk error="Unsupported"', UNSUPPORTED)


async def room_caller(request: Request) -> RoomCaller:
    """Policy **Hawk-or-room-token** (``GET/POST /rooms/{token}``): none, Hawk (verified)
    or Basic (decoded only); other schemes are 401 ``Unsupported`` with
    ``WWW-Authenticate: Basic,Hawk error="Unsupported"``."""
    scheme, attributes = _authorization(request)
    if scheme == "":
        return Anonymous()
    if scheme == hawk.SCHEME:
        return await _verified(request, attributes)
    if scheme == "basic":
        token = _basic_token(attributes)
        return ParticipantToken(participant_token_id(services(request).settings, token))
    raise errors.unauthorized('Basic,Hawk error="Unsupported"', UNSUPPORTED)


def participant_token_id(settings: Settings, token: str) -> str:
    """How a link-clicker's media token is filed: HMAC(userMacSecret, token) (§3.6)."""
    return hmac_hex(settings.user_mac_secret, token, settings.user_mac_algorithm)


UNSUPPORTED = "Unsupported"
_CALLER_KEY = "loop.hawk_caller"


def _authorization(request: Request) -> tuple[str, str]:
    """``(scheme lower-cased, rest)``; ``("", "")`` when there is no usable header."""
    value = request.headers.get("authorization", "")
    if not value.strip():
        return "", ""
    return hawk.split_scheme(value)


async def _verified(request: Request, attributes: str) -> HawkCaller:
    """Verify once per request: a second check would see its own nonce as replayed."""
    cached: HawkCaller | None = request.scope.get(_CALLER_KEY)
    if cached is None:
        verified = await hawk.verify(request, services(request), attributes)
        cached = HawkCaller(verified.session, verified.hawk_id)
        request.scope[_CALLER_KEY] = cached
    return cached


def _basic_token(credentials: str) -> str:
    """``base64(token)`` or ``base64(token:)`` (D26); 401 ``Basic`` when ill-formed."""
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise errors.unauthorized("Basic") from None
    token = decoded[:-1] if decoded.endswith(":") else decoded
    if not token:
        raise errors.unauthorized("Basic")
    return token


def session_token_headers(token: str | None) -> dict[str, str]:
    """The headers that hand a newly created session to the client (``None``: no new
    session, no headers); exposed so the link-clicker page's XHR may read it."""
    if token is None:
        return {}
    return {
        "Hawk-Session-Token": token,
        "Access-Control-Expose-Headers": "Hawk-Session-Token",
    }
