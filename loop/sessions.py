"""Hawk sessions and the push targets a device registers (loop-api.md §3.2, §4.6, D6, D17).

Pure domain code: routes hand it the parsed request and the services; it answers with
records or raises :class:`~loop.errors.LoopError` with the spec's texts.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from loop import errors, quotas
from loop.config import Settings
from loop.crypto import hawk_credentials, hmac_hex, random_hex
from loop.services import SessionServices
from loop.storage import TOPICS, PushTarget, Session, SessionStorage, Topic

SESSION_TOKEN_BYTES = 32
MAX_URL_LENGTH = 2048
"""Longer push URLs are refused: no push service mints them, and we store them."""
P256DH_BYTES = 65
AUTH_SECRET_BYTES = 16


def hawk_id_hmac(settings: Settings, hawk_id: str) -> str:
    """How sessions are filed: the Hawk id itself is never stored (§3.1)."""
    return hmac_hex(settings.hawk_id_secret, hawk_id, settings.user_mac_algorithm)


async def create_session(
    services: SessionServices,
    *,
    address: str | None,
    push: Mapping[Topic, PushTarget] | None = None,
) -> tuple[str, Session, str]:
    """A new guest session: ``(session token, session, Hawk id)``; 429 errno 117 past
    ``limits.registrations_per_address`` for the client's ``address``, nothing stored.

    The token is returned once to the client (``Hawk-Session-Token``); only the HMAC of
    the Hawk id derived from it, and the Hawk key, are stored. ``push``: the device's
    push targets, registered (as :func:`register_push` would) in the same storage call.
    """
    settings = services.settings
    token = random_hex(SESSION_TOKEN_BYTES)
    hawk_id, hawk_key = hawk_credentials(token)
    session = Session(hawk_id_hmac=hawk_id_hmac(settings, hawk_id), hawk_key=hawk_key)
    with quotas.answered():
        await services.storage.create_session(
            session,
            now=services.clock.now(),
            ttl=settings.hawk_session_duration,
            limits=quotas.registration(settings, address),
            push=push,
        )
    return token, session, hawk_id


async def register_push(
    services: SessionServices, session: Session, targets: Mapping[Topic, PushTarget]
) -> None:
    """Merge a device's push targets (topics not given are kept); they live as long as
    a session may."""
    await services.storage.register_push(
        session, targets, now=services.clock.now(), ttl=services.settings.hawk_session_duration
    )


async def unregister_push(storage: SessionStorage, session: Session) -> None:
    """Forget every push target of this device (§4.7); nothing to forget is no error."""
    await storage.unregister_push(session)


async def log_out(storage: SessionStorage, session: Session) -> None:
    """Forget this device's session and its push targets (§3.9)."""
    await storage.delete_session(session.hawk_id_hmac)


def push_targets(body: Mapping[str, Any], query: Mapping[str, str]) -> dict[Topic, PushTarget]:
    """The push targets a ``/registration`` request carries, validated (§4.6).

    ``simplePushURLs`` gives one target per topic; a plain ``simplePushURL`` (body, else
    query, else the legacy body ``simple_push_url``) is the ``calls`` target and overrides
    ``simplePushURLs.calls``. Empty values fall through as JavaScript's ``||`` did.
    """
    per_topic = body.get("simplePushURLs") or {}
    if not isinstance(per_topic, dict):
        raise errors.invalid_parameters("simplePushURLs should be an object")
    merged: dict[str, Any] = dict(per_topic)
    plain = body.get("simplePushURL") or query.get("simplePushURL") or body.get("simple_push_url")
    if plain is not None:
        merged["calls"] = plain
    return {_topic(name): _target(name, value) for name, value in merged.items()}


def _topic(name: str) -> Topic:
    for topic in TOPICS:
        if name == topic:
            return topic
    raise errors.invalid_parameters(f"simplePushURLs.{name} is not a known topic")


def _target(topic: str, value: Any) -> PushTarget:
    """A SimplePush URL (anything starting with ``http``, as the original checked) or a Web
    Push subscription (D17)."""
    if isinstance(value, dict):
        return _web_push_subscription(f"simplePushURLs.{topic}", value)
    if not isinstance(value, str) or not _bounded_url(value, "http"):
        raise errors.invalid_parameters(f"simplePushURLs.{topic} should be a valid url")
    return value


def _web_push_subscription(field: str, value: Mapping[str, Any]) -> dict[str, Any]:
    endpoint = value.get("endpoint")
    if not isinstance(endpoint, str) or not _bounded_url(endpoint, "https://"):
        raise errors.invalid_parameters(f"{field}.endpoint should be a valid https url")
    keys = value.get("keys")
    if not isinstance(keys, dict):
        raise errors.invalid_parameters(f"{field}.keys should be an object")
    for name, size in (("p256dh", P256DH_BYTES), ("auth", AUTH_SECRET_BYTES)):
        if _base64url_size(keys.get(name)) != size:
            raise errors.invalid_parameters(
                f"{field}.keys.{name} should be {size} bytes in base64url"
            )
    return {"endpoint": endpoint, "keys": {"p256dh": keys["p256dh"], "auth": keys["auth"]}}


def _bounded_url(value: str, prefix: str) -> bool:
    return value.startswith(prefix) and len(value) <= MAX_URL_LENGTH and value.isprintable()


def _base64url_size(value: Any) -> int:
    """The decoded size of an unpadded (or padded) base64url string, ``-1`` if not one."""
    if not isinstance(value, str) or not value.isascii() or len(value) > 200:
        return -1
    stripped = value.rstrip("=")
    try:
        decoded = base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except (binascii.Error, ValueError):
        return -1
    if base64.urlsafe_b64encode(decoded).rstrip(b"=").decode() != stripped:
        return -1
    return len(decoded)
