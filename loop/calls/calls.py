"""Direct calls and link calls (loop-api.md §4.11, decisions D8).

A call is one media session, two publisher tokens (the caller's is only ever returned to
the caller) and two websocket tokens, filed under every callee user and announced to
their devices' ``calls`` push targets; the callee's devices then fetch it with
``GET /calls?version=<the push version>`` and meet the caller on the progress websocket.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from loop import errors, quotas
from loop.callers import HawkCaller
from loop.calls.identities import callee_identities
from loop.config import Settings
from loop.crypto import decrypt, random_hex, session_identity_key
from loop.identity import user_mac
from loop.jsonutil import leading_integer
from loop.media import MediaSession
from loop.services import CallServices
from loop.storage.calls import Call, CallCreated, CallUrl

CALL_TYPES = ("audio", "audio-video")
ID_BYTES = 16


@dataclasses.dataclass(frozen=True, slots=True)
class Started:
    """A new call and what only its caller gets: the caller's media token."""

    call: Call
    caller_token: str


def call_type(body: Mapping[str, Any]) -> str:
    """``validateCallType`` (presence is checked by the parameter checker first)."""
    value = body.get("callType")
    if value not in CALL_TYPES:
        raise errors.invalid_parameters("callType should be 'audio' or 'audio-video'")
    return str(value)


def subject(body: Mapping[str, Any], settings: Settings) -> str | None:
    """The optional subject, at most ``calls.max_subject_size`` characters (also for link
    calls, D8)."""
    value = body.get("subject")
    if value is None:
        return None
    limit = settings.calls.max_subject_size
    if not isinstance(value, str) or len(value) > limit:
        raise errors.invalid_parameters(f"Call subject should be shorter than {limit} characters")
    return value


def channel(body: Mapping[str, Any]) -> str:
    value = body.get("channel")
    return value if isinstance(value, str) and value else "default"


def version(value: str | None) -> int:
    """``?version=`` read as ``parseInt`` did; anything unreadable lists every call, an
    integer beyond what storage holds is 400/107."""
    number = leading_integer(value or "")
    if number is None:
        raise errors.invalid_parameters("version should be a valid number")
    return number


def progress_url(settings: Settings) -> str:
    """``ws://<public address><endpoint>``, or ``wss://<host>:443<endpoint>`` behind TLS."""
    endpoint = settings.progress_url_endpoint
    if settings.protocol == "https":
        host = settings.public_server_address.rsplit(":", 1)[0]
        return f"wss://{host}:443{endpoint}"
    return f"ws://{settings.public_server_address}{endpoint}"


def call_url(settings: Settings, token: str) -> str:
    return settings.call_urls.web_app_url.replace("{token}", token)


def caller_identity(caller: HawkCaller) -> str | None:
    """The caller's e-mail or phone number, readable only with its Hawk id."""
    sealed = caller.session.encrypted_identity
    if sealed is None:
        return None
    try:
        return decrypt(session_identity_key(caller.hawk_id), sealed)
    except ValueError:
        return None


async def start_direct(
    services: CallServices, caller: HawkCaller, body: Mapping[str, Any], *, address: str | None
) -> Started:
    """``POST /calls``: 400/122 unless at least one callee has a ``calls`` push target;
    429 errno 117 past a call limit of the session or of the client's ``address`` (an
    attempt counts even when nobody is reachable)."""
    settings = services.settings
    kind, text = call_type(body), subject(body, settings)
    callees = [user_mac(settings, identity) for identity in callee_identities(body["calleeId"])]
    started = await _new_call(
        services, kind, channel(body), caller_id=caller_identity(caller), subject=text
    )
    with quotas.answered():
        created = await services.storage.create_call(
            started.call,
            callees=callees,
            reachable_only=True,
            now=services.clock.now(),
            limits=quotas.call_attempt(settings, caller.session, address),
        )
    if not created.callees:
        raise errors.user_unavailable()
    _notify(services, created, started.call, "call.direct")
    return started


async def start_from_link(
    services: CallServices, url: CallUrl, body: Mapping[str, Any], *, address: str | None
) -> Started:
    """``POST /calls/{token}``: a link clicker calls the link's owner (pushed if the owner
    has ``calls`` targets; filed either way); 429 errno 117 past
    ``limits.calls_per_address`` for the client's ``address``."""
    kind, text = call_type(body), subject(body, services.settings)
    started = await _new_call(
        services,
        kind,
        channel(body),
        caller_id=url.caller_id,
        subject=text,
        callee_friendly_name=url.issuer,
        call_token=url.token,
        url_creation_date=url.timestamp,
    )
    with quotas.answered():
        created = await services.storage.create_call(
            started.call,
            callees=[url.user],
            reachable_only=False,
            now=services.clock.now(),
            limits=quotas.call_attempt(services.settings, None, address),
        )
    _notify(services, created, started.call, "call.token")
    return started


async def _new_call(services: CallServices, kind: str, chosen: str, **fields: Any) -> Started:
    settings = services.settings
    media = await services.media.create_session(chosen)
    now = services.clock.now()
    call = Call(
        call_id=random_hex(ID_BYTES),
        call_type=kind,
        timestamp=int(now),
        expires_at=now + settings.call_duration,
        api_key=media.api_key,
        session_id=media.session_id,
        callee_token=_token(services, media, now),
        ws_caller_token=random_hex(ID_BYTES),
        ws_callee_token=random_hex(ID_BYTES),
        **fields,
    )
    return Started(call, _token(services, media, now))


def _token(services: CallServices, media: MediaSession, now: float) -> str:
    expires_at = int(now) + services.settings.tokbox.token_duration
    return services.media.mint_token(media, role="publisher", expires_at=expires_at)


def _notify(services: CallServices, created: CallCreated, call: Call, reason: str) -> None:
    """Push the callees' ``calls`` targets. With one callee the notifier also learns whose
    targets they are, so a Web Push subscription reported gone is forgotten; the targets of
    several callees come merged, and a gone one then simply stays until its session ends."""
    user = created.callees[0] if len(created.callees) == 1 else None
    services.push.notify(
        created.push_targets, topic="calls", version=call.timestamp, reason=reason, user=user
    )


def caller_view(settings: Settings, started: Started) -> dict[str, Any]:
    """The answer of ``POST /calls`` and ``POST /calls/{token}``."""
    call = started.call
    return {
        "callId": call.call_id,
        "websocketToken": call.ws_caller_token,
        "sessionId": call.session_id,
        "sessionToken": started.caller_token,
        "apiKey": call.api_key,
        "progressURL": progress_url(settings),
    }


async def listing(services: CallServices, caller: HawkCaller, since: int) -> list[dict[str, Any]]:
    """``GET /calls``: the caller's user's live calls changed since ``since``, as the
    callee sees them."""
    found = await services.storage.list_calls(
        caller.session.user, since=since, now=services.clock.now()
    )
    return [callee_view(services.settings, call) for call in found]


def callee_view(settings: Settings, call: Call) -> dict[str, Any]:
    """One item of ``GET /calls``; absent values are omitted."""
    view: dict[str, Any] = {
        "callId": call.call_id,
        "callType": call.call_type,
        "callerId": call.caller_id,
        "websocketToken": call.ws_callee_token,
        "apiKey": call.api_key,
        "sessionId": call.session_id,
        "sessionToken": call.callee_token,
        "progressURL": progress_url(settings),
        "subject": call.subject,
    }
    if call.call_token is not None:
        link = call_url(settings, call.call_token)
        view.update(
            callUrl=link,
            call_url=link,
            callToken=call.call_token,
            urlCreationDate=call.url_creation_date,
        )
    return {name: value for name, value in view.items() if value is not None}
