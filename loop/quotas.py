"""Quotas and rate limits (decisions D12, D32): the windows a request falls under.

Domain rules ask here for the :class:`~loop.storage.quotas.RateLimit` windows of what
they create, hand them to the storage method that creates it (which checks and counts
them in the same round trip, :mod:`loop.storage.quotas`), and wrap that call in
:func:`answered`, which turns a refusal into its answer: 429 errno 117 with
``Retry-After`` for a full window, 403 errno 999 for the cap on rooms.

A window's key is ``<action>:<subject kind>:<subject>``: ``s`` a session (its Hawk id
HMAC), ``u`` a user (its key: ``userMac``, or the session's HMAC for a guest), ``a`` a
client address, HMAC'd here so no address is stored in clear. A limit set to 0 yields no
window; a request whose address is unknown falls under no per-address window.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from loop import errors
from loop.config import Settings
from loop.crypto import hmac_hex
from loop.storage import Session
from loop.storage.quotas import RateLimit, RateLimited, TooManyRooms

Windows = tuple[RateLimit, ...]


def _windows(*candidates: tuple[str, str | None, int, float]) -> Windows:
    """The windows of ``(key prefix, subject, limit, period)`` that apply."""
    return tuple(
        RateLimit(f"{prefix}:{subject}", limit, period)
        for prefix, subject, limit, period in candidates
        if subject is not None and limit > 0
    )


def address_subject(settings: Settings, address: str | None) -> str | None:
    """What an address is counted under: its HMAC (keyed like user keys, with a prefix of
    its own so an address never collides with an identity)."""
    if address is None:
        return None
    return hmac_hex(settings.user_mac_secret, f"address:{address}", settings.user_mac_algorithm)


def registration(settings: Settings, address: str | None) -> Windows:
    """A new session, from an address."""
    limits = settings.limits
    return _windows(
        (
            "registration:a",
            address_subject(settings, address),
            limits.registrations_per_address,
            limits.registrations_per_address_period,
        ),
    )


def room_creation(settings: Settings, session: Session) -> Windows:
    limits = settings.limits
    return _windows(
        (
            "rooms:s",
            session.hawk_id_hmac,
            limits.rooms_per_session,
            limits.rooms_per_session_period,
        ),
        ("rooms:u", session.user, limits.rooms_per_user, limits.rooms_per_user_period),
    )


def anonymous_join(settings: Settings, address: str | None) -> Windows:
    """A link-clicker's join (a Hawk-signed join counts nowhere)."""
    limits = settings.limits
    return _windows(
        (
            "joins:a",
            address_subject(settings, address),
            limits.joins_per_address,
            limits.joins_per_address_period,
        ),
    )


def call_url_creation(settings: Settings, session: Session) -> Windows:
    call_urls = settings.call_urls
    return _windows(
        ("call-urls:s", session.hawk_id_hmac, call_urls.rate_limit, call_urls.rate_limit_period)
    )


def call_attempt(settings: Settings, session: Session | None, address: str | None) -> Windows:
    """A call started: direct (a session) or from a call URL (no session)."""
    limits = settings.limits
    return _windows(
        (
            "calls:s",
            session.hawk_id_hmac if session is not None else None,
            limits.calls_per_session,
            limits.calls_per_session_period,
        ),
        (
            "calls:a",
            address_subject(settings, address),
            limits.calls_per_address,
            limits.calls_per_address_period,
        ),
    )


@contextlib.contextmanager
def answered() -> Iterator[None]:
    """Around the storage call that counted: its refusals become their answers."""
    try:
        yield
    except RateLimited as limited:
        raise errors.too_many_requests(limited.retry_after) from None
    except TooManyRooms:
        raise errors.too_many_rooms() from None
