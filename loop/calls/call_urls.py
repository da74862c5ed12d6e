"""Click-to-call links (loop-api.md §4.10; decisions D12, D30).

Creation was retired by the original in 0.18; here it works as it did before, with a
per-session rate limit standing in for the front proxy's (60 per minute by default,
``call_urls.rate_limit``; 429 errno 117 as every limit, D32).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from loop import errors, quotas
from loop.callers import HawkCaller
from loop.calls.calls import call_url, caller_identity
from loop.config import CallUrlsSettings
from loop.crypto import random_token
from loop.jsonutil import leading_integer
from loop.services import CallServices
from loop.storage.calls import CallUrl, CallUrlNotFound, NotCallUrlOwner

HOUR = 3600


def expires_in(body: Mapping[str, Any], settings: CallUrlsSettings) -> int:
    """``expiresIn`` hours: an integer (or its decimal string, D2) from 1 (D5) to
    ``call_urls.max_timeout``; absent means ``call_urls.timeout``."""
    value = body.get("expiresIn")
    if value is None:
        return settings.timeout
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise errors.invalid_parameters("expiresIn should be a valid number")
    hours = value if isinstance(value, int) else leading_integer(value)
    if hours is None or hours < 1:
        raise errors.invalid_parameters("expiresIn should be a valid number")
    if hours > settings.max_timeout:
        raise errors.invalid_parameters(f"expiresIn should be less than {settings.max_timeout}")
    return hours


def _text(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise errors.invalid_parameters(f"{name} should be a string")
    return value


async def create(services: CallServices, caller: HawkCaller, body: Mapping[str, Any]) -> CallUrl:
    """``POST /call-url``: a new link owned by the caller's user (``callerId`` required
    by the route). The issuer defaults to the caller's identity, as it did."""
    settings = services.settings.call_urls
    hours = expires_in(body, settings)
    caller_id, subject = _text(body, "callerId"), _text(body, "subject")
    issuer = _text(body, "issuer") or caller_identity(caller) or ""
    now = services.clock.now()
    url = CallUrl(
        token=random_token(settings.token_size),
        user=caller.session.user,
        issuer=issuer,
        timestamp=int(now),
        expires=int(now) + hours * HOUR,
        caller_id=caller_id,
        subject=subject,
    )
    limits = quotas.call_url_creation(services.settings, caller.session)
    with quotas.answered():
        await services.storage.create_call_url(url, now=now, limits=limits)
    return url


def creation_view(services: CallServices, url: CallUrl) -> dict[str, Any]:
    link = call_url(services.settings, url.token)
    return {"callUrl": link, "callToken": url.token, "call_url": link, "expiresAt": url.expires}


async def listing(services: CallServices, caller: HawkCaller) -> list[dict[str, Any]]:
    """``GET /call-url``: the user's live links, oldest first, without owner or token."""
    urls = await services.storage.list_call_urls(caller.session.user, now=services.clock.now())
    return [_view(url) for url in urls]


def _view(url: CallUrl) -> dict[str, Any]:
    view: dict[str, Any] = {
        "callerId": url.caller_id,
        "issuer": url.issuer,
        "timestamp": url.timestamp,
        "expires": url.expires,
        "subject": url.subject,
    }
    return {name: value for name, value in view.items() if value is not None}


async def live(services: CallServices, token: str) -> CallUrl:
    """The live link, or 404 errno 105 ``Token not found.``"""
    url = await services.storage.get_call_url(token, now=services.clock.now())
    if url is None:
        raise errors.token_not_found()
    return url


async def update(
    services: CallServices, caller: HawkCaller, token: str, body: Mapping[str, Any]
) -> CallUrl:
    """``PUT /call-url/{token}``: overwrite the caller's link field by field."""
    await live(services, token)
    hours = expires_in(body, services.settings.call_urls)
    now = services.clock.now()
    url = CallUrl(
        token=token,
        user=caller.session.user,
        issuer=_text(body, "issuer") or "",
        timestamp=int(now),
        expires=int(now) + hours * HOUR,
        caller_id=_text(body, "callerId"),
        subject=_text(body, "subject"),
    )
    try:
        await services.storage.update_call_url(url, now=now)
    except CallUrlNotFound:
        raise errors.token_not_found() from None
    except NotCallUrlOwner:
        raise errors.call_url_not_owned() from None
    return url


async def delete(services: CallServices, caller: HawkCaller, token: str) -> None:
    """``DELETE /call-url/{token}``: 404 unknown, 403 ``Forbidden`` for another's link."""
    try:
        await services.storage.delete_call_url(
            token, user=caller.session.user, now=services.clock.now()
        )
    except CallUrlNotFound:
        raise errors.token_not_found() from None
    except NotCallUrlOwner:
        raise errors.forbidden() from None
