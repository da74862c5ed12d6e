"""The FxA OAuth login (loop-api.md §3.4 "OAuth Hawk", §3.8): sessions that may use the
``/fxa-oauth/*`` routes, and the state that ties a login to the session that started it.

The state is replaced by a fresh one *before* the submitted one is compared (atomically
in storage), so each state value can be tried once: a leaked or guessed state is useless
after the first attempt. The policies that read the request are in :mod:`loop.auth`.
"""

from __future__ import annotations

from loop import errors
from loop.callers import HawkCaller, OAuthCaller
from loop.crypto import constant_time_equals, random_hex
from loop.identity import fxa
from loop.services import AccountServices
from loop.storage.accounts import OAuthRecord

STATE_BYTES = 32
INVALID_STATE = "Invalid OAuth state"


async def find(svc: AccountServices, caller: HawkCaller) -> OAuthCaller | None:
    """The caller with its session's live OAuth state; ``None`` when it has none."""
    record = await svc.storage.get_oauth(caller.session.hawk_id_hmac, now=svc.clock.now())
    return None if record is None else OAuthCaller(caller, record)


async def start(svc: AccountServices, caller: HawkCaller) -> OAuthCaller:
    """Give a new session (see :func:`loop.sessions.create_session`) a fresh state."""
    state = await svc.storage.start_oauth(
        caller.session.hawk_id_hmac,
        state=random_hex(STATE_BYTES),
        now=svc.clock.now(),
        ttl=svc.settings.hawk_session_duration,
    )
    return OAuthCaller(caller, OAuthRecord(state))


async def check_state(svc: AccountServices, oauth: OAuthCaller, submitted: object) -> None:
    """Rotate the session's state, then compare the submitted one with the previous:
    400 errno 114 on mismatch."""
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


async def redeem(svc: AccountServices, oauth: OAuthCaller, code: object) -> tuple[fxa.Grant, str]:
    """Trade the code, keep the token, learn the e-mail: ``(the grant, the e-mail)``. The
    caller then binds the session to that e-mail (:func:`loop.identity.bind`), a sessions
    concern this accounts rule does not reach."""
    grant = await fxa.trade_code(svc, code)
    await svc.storage.set_oauth_token(
        oauth.caller.session.hawk_id_hmac,
        token=grant.access_token,
        now=svc.clock.now(),
        ttl=svc.settings.hawk_session_duration,
    )
    return grant, await fxa.profile_email(svc, grant.access_token)
