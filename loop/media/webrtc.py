"""The built-in media provider (``media.provider = "webrtc"``, decisions D18).

Browsers send their audio and video to each other (a full mesh: rooms hold at most five);
this server only introduces them. A room's or call's ``sessionId`` names a *signalling
channel* (:mod:`loop.signalling`), and the ``sessionToken`` a join hands out is a signed,
expiring ticket to it::

    v1.<base64url(JSON claims)>.<base64url(HMAC-SHA256(webrtc.token_secret, "v1." + claims))>

The claims name the channel, the room (``None`` for a direct call), the participant id
when it is known before the token (a Hawk device; a link-clicker is filed under the
token's own HMAC, computed by whoever checks it), the role and the D3 ``data``. Tokens are
opaque to clients; only this module reads them.

Members also get ICE servers: the configured STUN URLs, and TURN URLs with credentials in
the time-limited scheme coturn checks with ``use-auth-secret`` (username
``<expiry>:<id>``, password base64(HMAC-SHA1(secret, username))).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import json
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from loop.clock import Clock, SystemClock
from loop.config import Settings, WebRTCSettings
from loop.media import MediaError, MediaProvider, MediaSession, Role, stun

API_KEY = "webrtc"
"""What ``apiKey`` says for this provider's rooms (clients only check it is a string)."""
TOKEN_VERSION = "v1"
ROLES: tuple[Role, ...] = ("publisher", "subscriber", "moderator")
SIGNALLING_PATH = "/signalling"
STUN_TIMEOUT = 5.0
"""Seconds the heartbeat's Binding request may take (the heartbeat's own timeout is
usually shorter and wins)."""


class TokenError(ValueError):
    """A session token was refused; ``reason`` is what the socket answers."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclasses.dataclass(frozen=True, slots=True)
class Claims:
    """What a verified session token says."""

    channel: str
    room: str | None
    participant: str | None
    role: Role
    data: str | None
    expires_at: int


class WebRTCProvider(MediaProvider):
    name = "webrtc"
    label = "WebRTC"
    signalling = True

    def __init__(
        self, settings: WebRTCSettings, *, signalling_url: str, clock: Clock | None = None
    ) -> None:
        if not settings.token_secret:
            raise ValueError("webrtc.token_secret is empty (it is generated at start-up)")
        self._settings = settings
        self._key = settings.token_secret.encode()
        self._signalling_url = signalling_url
        self._clock = clock or SystemClock()
        self._signalling_check: Callable[[], Awaitable[str | None]] | None = None

    # -- sessions and tokens ----------------------------------------------------------------

    def api_key(self, channel: str) -> str:
        return API_KEY

    async def create_session(self, channel: str) -> MediaSession:
        """A fresh, unguessable channel name; nothing is stored until members connect."""
        return MediaSession(session_id=secrets.token_urlsafe(18), api_key=API_KEY)

    def mint_token(
        self,
        session: MediaSession,
        *,
        role: Role,
        expires_at: int,
        data: str | None = None,
        room: str | None = None,
        participant: str | None = None,
    ) -> str:
        if session.api_key != API_KEY:
            raise MediaError(f"session {session.session_id!r} was not made by the webrtc provider")
        claims = {
            "s": session.session_id,
            "r": room,
            "p": participant,
            "o": role,
            "d": data,
            "e": int(expires_at),
            "n": secrets.token_hex(8),
        }
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signed = f"{TOKEN_VERSION}.{payload}"
        return f"{signed}.{_b64(self._sign(signed))}"

    def verify_token(self, token: str) -> Claims:
        """The token's claims; raises TokenError ``invalid-token`` (forged, garbled, from
        another server) or ``expired-token``. The signature is compared in constant time."""
        version, _, rest = token.partition(".")
        payload, _, signature = rest.partition(".")
        if version != TOKEN_VERSION or not payload or not signature:
            raise TokenError("invalid-token")
        expected = self._sign(f"{version}.{payload}")
        if not hmac.compare_digest(expected, _unb64(signature)):
            raise TokenError("invalid-token")
        claims = _claims(_unb64(payload))
        if claims.expires_at <= self._clock.now():
            raise TokenError("expired-token")
        return claims

    def _sign(self, text: str) -> bytes:
        return hmac.new(self._key, text.encode(), hashlib.sha256).digest()

    # -- what members get with a join ------------------------------------------------------------

    def join_extras(self) -> dict[str, Any]:
        return {"iceServers": self.ice_servers(), "signallingUrl": self._signalling_url}

    def ice_servers(self) -> list[dict[str, Any]]:
        """An ``RTCIceServer[]``; TURN credentials are fresh for every call."""
        servers: list[dict[str, Any]] = []
        if self._settings.stun_urls:
            servers.append({"urls": list(self._settings.stun_urls)})
        if self._settings.turn_urls:
            username, credential = turn_credentials(
                self._settings.turn_secret,
                expires_at=int(self._clock.now()) + self._settings.turn_ttl,
                user=secrets.token_hex(8),
            )
            servers.append(
                {
                    "urls": list(self._settings.turn_urls),
                    "username": username,
                    "credential": credential,
                }
            )
        return servers

    # -- health ------------------------------------------------------------------------------

    def watch_signalling(self, check: Callable[[], Awaitable[str | None]]) -> None:
        """Let :meth:`ping` include the signalling service's own check."""
        self._signalling_check = check

    async def ping(self) -> str | None:
        """The signalling check, then a STUN Binding to the first STUN (else TURN) server:
        ``None`` when both answer. The heartbeat bounds the whole check."""
        if self._signalling_check is not None:
            failure = await self._signalling_check()
            if failure is not None:
                return failure
        urls = [*self._settings.stun_urls, *self._settings.turn_urls]
        if not urls:
            return None
        try:
            host, port = stun.server_address(urls[0])
            await stun.binding(host, port, timeout=STUN_TIMEOUT)
        except (OSError, ValueError) as exc:
            return f"Error: STUN server {urls[0]} failed: {exc}"
        return None


def turn_credentials(secret: str, *, expires_at: int, user: str) -> tuple[str, str]:
    """coturn's ``use-auth-secret`` credentials: ``(f"{expires_at}:{user}", password)``."""
    username = f"{expires_at}:{user}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def _claims(raw: bytes) -> Claims:
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise TokenError("invalid-token") from None
    if not isinstance(value, dict):
        raise TokenError("invalid-token")
    channel, room, participant = value.get("s"), value.get("r"), value.get("p")
    role, data, expires_at = value.get("o"), value.get("d"), value.get("e")
    optional = (room, participant, data)
    if (
        not isinstance(channel, str)
        or not all(item is None or isinstance(item, str) for item in optional)
        or role not in ROLES
        or not isinstance(expires_at, int)
    ):
        raise TokenError("invalid-token")
    return Claims(channel, room, participant, role, data, expires_at)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise TokenError("invalid-token") from None


def from_settings(settings: Settings, clock: Clock) -> WebRTCProvider:
    scheme = "wss" if settings.protocol == "https" else "ws"
    url = f"{scheme}://{settings.public_server_address}{SIGNALLING_PATH}"
    return WebRTCProvider(settings.webrtc, signalling_url=url, clock=clock)
