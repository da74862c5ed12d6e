"""The ``webrtc`` provider's own rules: it is the default, its tokens are signed, expiring
and refused when touched, its ICE servers and TURN credentials follow the settings."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from loop import media
from loop.clock import FakeClock
from loop.config import WEBRTC_SECRET, Secret, Settings, WebRTCSettings
from loop.media import MediaError, MediaSession
from loop.media.webrtc import API_KEY, Claims, TokenError, WebRTCProvider, turn_credentials

NOW = 1_700_000_000
SECRET = Secret("ab" * 32)


def make(clock: FakeClock | None = None, **settings: object) -> WebRTCProvider:
    return WebRTCProvider(
        WebRTCSettings(token_secret=SECRET, **settings),  # type: ignore[arg-type]
        signalling_url="wss://loop.example.com/signalling",
        clock=clock or FakeClock(NOW),
    )


def test_it_is_the_default_provider() -> None:
    settings = Settings().with_secrets(
        {"user_mac_secret": "aa", "hawk_id_secret": "bb", "hkdf_salt": "cc", WEBRTC_SECRET: SECRET}
    )
    provider = media.from_settings(settings)
    assert isinstance(provider, WebRTCProvider)
    assert provider.join_extras()["signallingUrl"] == "ws://localhost:5000/signalling"
    https = Settings(protocol="https", public_server_address="loop.example.com")
    secured = media.from_settings(https.with_secrets({**_secrets(), WEBRTC_SECRET: SECRET}))
    assert isinstance(secured, WebRTCProvider)
    assert secured.join_extras()["signallingUrl"] == "wss://loop.example.com/signalling"


def _secrets() -> dict[str, str]:
    return {"user_mac_secret": "aa", "hawk_id_secret": "bb", "hkdf_salt": "cc"}


def test_an_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="token_secret"):
        WebRTCProvider(WebRTCSettings(), signalling_url="ws://x/signalling")


async def test_sessions_are_random_channels() -> None:
    provider = make()
    first, second = await provider.create_session("default"), await provider.create_session("x")
    assert first.api_key == second.api_key == provider.api_key("any") == API_KEY == "webrtc"
    assert first.session_id != second.session_id and len(first.session_id) == 24


async def test_tokens_carry_their_claims() -> None:
    provider = make()
    session = await provider.create_session("default")
    data = json.dumps({"displayName": "Bob", "id": "c-1"})
    token = provider.mint_token(
        session, role="moderator", expires_at=NOW + 60, data=data, room="room-1", participant="p"
    )
    assert provider.verify_token(token) == Claims(
        session.session_id, "room-1", "p", "moderator", data, NOW + 60
    )
    bare = provider.mint_token(session, role="publisher", expires_at=NOW + 60)
    assert provider.verify_token(bare) == Claims(
        session.session_id, None, None, "publisher", None, NOW + 60
    )
    assert bare != provider.mint_token(session, role="publisher", expires_at=NOW + 60)


async def test_touched_foreign_and_expired_tokens_are_refused() -> None:
    clock = FakeClock(NOW)
    provider = make(clock)
    session = await provider.create_session("default")
    token = provider.mint_token(session, role="publisher", expires_at=NOW + 60, room="r")
    version, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["o"] = "moderator"
    promoted = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    other = WebRTCProvider(
        WebRTCSettings(token_secret=Secret("cd" * 32)), signalling_url="ws://x/signalling"
    )
    for bad in (
        f"{version}.{promoted}.{signature}",
        other.mint_token(session, role="publisher", expires_at=NOW + 60),
        f"{version}.{payload}.",
        "",
        "v1..",
        "v1.e30.e30",
    ):
        with pytest.raises(TokenError) as refused:
            provider.verify_token(bad)
        assert refused.value.reason == "invalid-token"
    clock.advance(59.9)
    provider.verify_token(token)
    clock.advance(0.1)
    with pytest.raises(TokenError) as expired:
        provider.verify_token(token)
    assert expired.value.reason == "expired-token"


def test_only_its_own_sessions_get_tokens() -> None:
    with pytest.raises(MediaError):
        make().mint_token(MediaSession("1_MX40", "4468744"), role="publisher", expires_at=NOW)


def test_ice_servers_follow_the_settings() -> None:
    assert make().ice_servers() == []
    assert make().join_extras() == {
        "iceServers": [],
        "signallingUrl": "wss://loop.example.com/signalling",
    }
    provider = make(
        stun_urls=["stun:stun.example.com"],
        turn_urls=["turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:5349"],
        turn_secret=Secret("shared"),
        turn_ttl=120,
    )
    stun_entry, turn_entry = provider.ice_servers()
    assert stun_entry == {"urls": ["stun:stun.example.com"]}
    assert turn_entry["urls"] == [
        "turn:turn.example.com:3478?transport=udp",
        "turns:turn.example.com:5349",
    ]
    expiry, _, user = turn_entry["username"].partition(":")
    assert int(expiry) == NOW + 120 and len(user) == 16
    assert (turn_entry["username"], turn_entry["credential"]) == turn_credentials(
        "shared", expires_at=NOW + 120, user=user
    )


def test_turn_credentials_follow_coturns_scheme() -> None:
    username, password = turn_credentials("secret", expires_at=1_700_000_120, user="alice")
    assert username == "1700000120:alice"
    digest = hmac.new(b"secret", b"1700000120:alice", hashlib.sha1).digest()
    assert password == base64.b64encode(digest).decode()
    # printf 1700000120:alice | openssl dgst -sha1 -hmac secret -binary | base64
    assert password == "A8+qG2Y+lO1vWIrXMAitjeW0Xts="


async def test_ping_without_ice_servers_is_healthy() -> None:
    assert await make().ping() is None
