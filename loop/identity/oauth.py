"""The FxA OAuth login (loop-api.md §3.4 "OAuth Hawk", §3.8): sessions that may use the
``/fxa-oauth/*`` routes, and the state that ties a login to the session that started it.

The state is replaced by a fresh one *before* the submitted one is compared (atomically
in storage), so each state value can be tried once: a leaked or guessed state is useless
after the first attempt.
"""

from __future__ import annotations

import dataclasses

from starlette.requests import Request

from loop import auth, errors, hawk, identity, sessions
from loop.app import services
from loop.crypto import constant_time_equals, random_hex
from loop.identity import fxa
from loop.storage.accounts import OAuthRecord

STATE_BYTES = 32
INVALID_STATE = "Invalid OAuth state"


@dataclasses.dataclass(frozen=True, slots=True)
class OAuthCaller:
    caller: auth.HawkCaller
    record: OAuthRecord


async def require_oauth_session(request: Request) -> OAuthCaller:
    """Policy **OAuth Hawk**: Hawk, and the session must have a live OAuth state; any
    other session is answered as unknown credentials (401)."""
    caller = await auth.require_hawk(request)
    svc = services(request)
    record = await svc.storage.get_oauth(caller.session.hawk_id_hmac, now=svc.clock.now())
    if record is None:
        raise errors.unauthorized(
            f'Hawk error="{hawk.UNKNOWN_CREDENTIALS}"', hawk.UNKNOWN_CREDENTIALS
        )
    return OAuthCaller(caller, record)


async def oauth_session_or_create(request: Request) -> tuple[OAuthCaller, str | None]:
    """Policy **OAuth Hawk-or-create** (``/fxa-oauth/params``): without ``Authorization``
    a new session is created and given a state; its token is returned to be sent in
    ``Hawk-Session-Token``."""
    if request.headers.get("authorization", "").strip():
        return await require_oauth_session(request), None
    svc = services(request)
    token, session, hawk_id = await sessions.create_session(svc)
    state = await svc.storage.start_oauth(
        session.hawk_id_hmac,
        state=random_hex(STATE_BYTES),
        now=svc.clock.now(),
        ttl=svc.settings.hawk_session_duration,
    )
    return OAuthCaller(auth.HawkCaller(session, hawk_id), OAuthRecord(state)), token


async def check_state(request: Request, oauth: OAuthCaller, submitted: object) -> None:
    """Rotate the session's state, then compare the submitted one with the previous:
    400 errno 114 on mismatch."""
    svc = services(request)
    previous = await svc.storage.rotate_oauth_state(
        oauth.caller.session.hawk_id_hmac,
        state=random_hex(STATE_BYTES),
        now=svc.clock.now(),
        ttl=svc.settings.hawk_session_duration,
    )
    if (
        previous is None
        or not isinstance(submitted, str)
        or not constant_time_equals(previous, submitted)
    ):
        raise errors.LoopError(400, errors.Errno.INVALID_OAUTH_STATE, INVALID_STATE)


async def log_in(request: Request, oauth: OAuthCaller, code: object) -> fxa.Grant:
    """Trade the code, keep the token, learn the e-mail, bind the session to it."""
    svc = services(request)
    caller = oauth.caller
    grant = await fxa.trade_code(svc, code)
    await svc.storage.set_oauth_token(
        caller.session.hawk_id_hmac,
        token=grant.access_token,
        now=svc.clock.now(),
        ttl=svc.settings.hawk_session_duration,
    )
    email = await fxa.profile_email(svc, grant.access_token)
    await identity.bind(svc, caller.session, caller.hawk_id, email)
    return grant
