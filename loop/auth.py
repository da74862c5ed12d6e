"""Authentication policies per endpoint (loop-api.md §3.2-§3.6, §3.8, decisions D15, D26).

Routes call exactly one of these at the point the spec's validation order puts it. Each
either returns who the caller is (a :mod:`loop.callers` type) or raises the spec's
:class:`~loop.errors.LoopError` (with its ``WWW-Authenticate``). On a verified Hawk
request the ``Server-Authorization`` header is left in the scope for the middleware to
send, whatever the answer.

Layer: the HTTP edge, with :mod:`loop.hawk` and :mod:`loop.web`, between the routes and
the domain. Every policy takes a ``Request`` (headers, the per-request Hawk cache, the
app's issuer cache), so it cannot sit in the domain; it calls down into the domain
(sessions, identity) and never the other way: the domain gets only the caller types,
which live in :mod:`loop.callers` for that reason.
"""

from __future__ import annotations

import base64
import binascii

from starlette.requests import Request

from loop import errors, hawk, sessions
from loop.callers import (
    Anonymous,
    HawkCaller,
    OAuthCaller,
    ParticipantToken,
    RoomCaller,
    participant_token_id,
)
from loop.identity import browserid, oauth
from loop.identity.issuers import TrustedIssuers
from loop.services import services

__all__ = [
    "Anonymous",
    "HawkCaller",
    "OAuthCaller",
    "ParticipantToken",
    "RoomCaller",
    "creates_session",
    "hawk_or_create",
    "oauth_session_or_create",
    "participant_token_id",
    "require_hawk",
    "require_oauth_session",
    "require_registered",
    "room_caller",
    "session_token_headers",
    "trusted_issuers",
]


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


def creates_session(request: Request) -> bool:
    """Whether :func:`hawk_or_create` creates a session for ``request``: it has no
    ``Authorization`` header (an empty one counts as none)."""
    return _authorization(request)[0] == ""


async def hawk_or_create(
    request: Request, *, address: str | None
) -> tuple[HawkCaller, str | None]:
    """Policy **Hawk-or-create** (``/registration``): no header creates a session (counted
    for the client's ``address``) and returns its token (to send in
    ``Hawk-Session-Token``); ``Hawk`` verifies; ``BrowserID`` signs in, creating a session
    bound to the asserted identity (§3.5); other schemes are 401 ``Unsupported``."""
    scheme, attributes = _authorization(request)
    if scheme == "":
        svc = services(request)
        token, session, hawk_id = await sessions.create_session(svc, address=address)
        return HawkCaller(session, hawk_id), token
    if scheme == hawk.SCHEME:
        return await _verified(request, attributes), None
    if scheme == "browserid":
        authorization = request.headers.get("authorization", "")
        svc = services(request)
        token, session, hawk_id = await browserid.sign_in(
            svc, trusted_issuers(request), authorization
        )
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


async def require_oauth_session(request: Request) -> OAuthCaller:
    """Policy **OAuth Hawk**: Hawk, and the session must have a live OAuth state; any
    other session is answered as unknown credentials (401)."""
    caller = await require_hawk(request)
    found = await oauth.find(services(request), caller)
    if found is None:
        raise errors.unauthorized(
            f'Hawk error="{hawk.UNKNOWN_CREDENTIALS}"', hawk.UNKNOWN_CREDENTIALS
        )
    return found


async def oauth_session_or_create(
    request: Request, *, address: str | None
) -> tuple[OAuthCaller, str | None]:
    """Policy **OAuth Hawk-or-create** (``/fxa-oauth/params``): without ``Authorization``
    a new session is created (counted for the client's ``address``) and given a state;
    its token is returned to be sent in ``Hawk-Session-Token``."""
    if request.headers.get("authorization", "").strip():
        return await require_oauth_session(request), None
    svc = services(request)
    token, session, hawk_id = await sessions.create_session(svc, address=address)
    return await oauth.start(svc, HawkCaller(session, hawk_id)), token


def trusted_issuers(request: Request) -> TrustedIssuers:
    """The app's BrowserID issuers and key cache, made on first use (the mounted gateway,
    if any, registered its key provider in ``app.state.browserid_providers`` at
    start-up)."""
    state = request.app.state
    found: TrustedIssuers | None = getattr(state, "trusted_issuers", None)
    if found is None:
        svc = services(request)
        found = TrustedIssuers(
            svc.settings.browserid,
            http=svc.http,
            clock=svc.clock,
            providers=getattr(state, "browserid_providers", None),
        )
        state.trusted_issuers = found
    return found


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
