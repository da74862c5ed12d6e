"""The ``tokbox`` provider against a local stand-in of OpenTok's REST API.

The real SDK does the HTTP; only the server is local (tests/support/opentok_server.py).
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from loop import media
from loop.config import MediaSettings, Settings, TokBoxSettings
from loop.media import MediaError, MediaSession
from loop.media.fake import decode_session_id, decode_token
from loop.media.tokbox import TokBoxProvider
from tests.support.opentok_server import OpenTokStandIn, opentok_server

# 40 hex characters, like real OpenTok secrets (PyJWT warns below 32 bytes).
PROJECTS = {"100001": "d" * 8 + "0123456789abcdef" * 2, "200002": "e" * 8 + "fedcba9876543210" * 2}


@pytest.fixture
def standin() -> Iterator[OpenTokStandIn]:
    with opentok_server(PROJECTS) as server:
        yield server


def make_settings(url: str, **tokbox: Any) -> Settings:
    credentials = {
        "default": {"api_key": "100001", "api_secret": PROJECTS["100001"]},
        "nightly": {"api_key": "200002", "api_secret": PROJECTS["200002"]},
    }
    options: dict[str, Any] = {"api_url": url, "credentials": credentials, "timeout": 2000}
    options.update(tokbox)
    return Settings(media=MediaSettings(provider="tokbox"), tokbox=TokBoxSettings(**options))


@pytest.fixture
def provider(standin: OpenTokStandIn) -> TokBoxProvider:
    built = media.from_settings(make_settings(standin.url, retry_on_error=3))
    assert isinstance(built, TokBoxProvider)
    return built


def test_api_key_per_channel_with_default_fallback(provider: TokBoxProvider) -> None:
    assert provider.name == "tokbox"
    assert provider.api_key("default") == "100001"
    assert provider.api_key("nightly") == "200002"
    assert provider.api_key("gone-channel") == "100001"  # D7


def test_default_channel_is_required() -> None:
    with pytest.raises(ValueError, match="default"):
        TokBoxProvider({"nightly": {"api_key": "1", "api_secret": "s"}})


async def test_create_session_uses_the_channel_credentials(
    provider: TokBoxProvider, standin: OpenTokStandIn
) -> None:
    nightly = await provider.create_session("nightly")
    default = await provider.create_session("default")

    assert nightly.api_key == "200002"
    assert default.api_key == "100001"
    assert [nightly.session_id, default.session_id] == standin.sessions
    assert decode_session_id(nightly.session_id)[1] == "200002"
    first, second = standin.requests
    assert (first.api_key, second.api_key) == ("200002", "100001")
    assert first.auth_scheme == "jwt"  # verified against the channel's own secret
    assert first.jwt_claims is not None and first.jwt_claims["iss"] == "200002"
    assert first.method == "POST" and first.path == "/session/create"
    assert first.headers["accept"] == "application/json"


async def test_unknown_channel_uses_the_default_credentials(
    provider: TokBoxProvider, standin: OpenTokStandIn
) -> None:
    session = await provider.create_session("retired-channel")
    assert session.api_key == "100001"
    assert standin.requests[-1].api_key == "100001"


async def test_sessions_are_relayed(provider: TokBoxProvider, standin: OpenTokStandIn) -> None:
    await provider.create_session("default")
    form = standin.requests[-1].form
    assert form["p2p.preference"] == "enabled"  # relayed, as the original asked
    assert form["archiveMode"] == "manual"


async def test_channel_api_url_overrides_the_global_one(standin: OpenTokStandIn) -> None:
    provider = TokBoxProvider(
        {
            "default": {"api_key": "100001", "api_secret": PROJECTS["100001"]},
            "nightly": {
                "api_key": "200002",
                "api_secret": PROJECTS["200002"],
                "api_url": standin.url + "/",
            },
        },
        api_url="http://127.0.0.1:9",  # discard port: nothing answers
        timeout=0.5,
        retry_on_error=1,
    )
    assert (await provider.create_session("nightly")).api_key == "200002"
    assert standin.requests[-1].path == "/session/create"
    with pytest.raises(MediaError):
        await provider.create_session("default")


async def test_retries_after_server_errors(
    provider: TokBoxProvider, standin: OpenTokStandIn
) -> None:
    standin.fail("500", times=2)
    session = await provider.create_session("default")
    assert len(standin.requests) == 3
    assert standin.sessions == [session.session_id]


@pytest.mark.parametrize("mode", ["500", "403"])
async def test_gives_up_after_retry_on_error_attempts(
    provider: TokBoxProvider, standin: OpenTokStandIn, mode: Any
) -> None:
    standin.fail(mode)
    with pytest.raises(MediaError, match="after 3 attempt"):
        await provider.create_session("default")
    assert len(standin.requests) == 3


async def test_wrong_secret_is_refused_by_the_stand_in(standin: OpenTokStandIn) -> None:
    provider = TokBoxProvider(
        {"default": {"api_key": "100001", "api_secret": "f" * 40}},
        api_url=standin.url,
        retry_on_error=1,
    )
    with pytest.raises(MediaError, match="invalid credentials"):
        await provider.create_session("default")
    assert standin.requests[-1].api_key is None


async def test_each_attempt_is_bounded_by_the_timeout(standin: OpenTokStandIn) -> None:
    provider = media.from_settings(make_settings(standin.url, timeout=200, retry_on_error=2))
    standin.fail("hang")
    started = time.monotonic()
    with pytest.raises(MediaError, match="after 2 attempt"):
        await provider.create_session("default")
    assert time.monotonic() - started < 2
    assert len(standin.requests) == 2


async def test_token_is_a_signed_t1_token(
    provider: TokBoxProvider, standin: OpenTokStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = await provider.create_session("nightly")
    identity = {"displayName": "Alice", "account": "alice@example.com", "id": "conn-1"}
    expires_at = int(time.time()) + 86400

    def no_network(*args: object) -> None:
        raise AssertionError("mint_token must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    token = provider.mint_token(
        session, role="moderator", expires_at=expires_at, data=json.dumps(identity)
    )
    monkeypatch.undo()

    assert token.startswith("T1==")
    decoded = decode_token(token)
    assert decoded.partner_id == "200002"
    assert decoded.signature_valid(PROJECTS["200002"])
    assert not decoded.signature_valid(PROJECTS["100001"])
    assert decoded.session_id == session.session_id
    assert decoded.role == "moderator"
    assert decoded.expire_time == expires_at
    assert abs(decoded.create_time - time.time()) < 60
    assert json.loads(decoded.connection_data or "") == identity
    assert len(standin.requests) == 1  # only the session creation


@pytest.mark.parametrize("role", ["publisher", "subscriber"])
async def test_token_roles(provider: TokBoxProvider, role: Any) -> None:
    session = await provider.create_session("default")
    token = provider.mint_token(session, role=role, expires_at=int(time.time()) + 60)
    decoded = decode_token(token)
    assert decoded.role == role
    assert decoded.connection_data is None
    assert decoded.signature_valid(PROJECTS["100001"])


async def test_token_errors_become_media_errors(provider: TokBoxProvider) -> None:
    session = await provider.create_session("default")
    with pytest.raises(MediaError):  # the SDK refuses expiries in the past
        provider.mint_token(session, role="publisher", expires_at=int(time.time()) - 10)
    with pytest.raises(MediaError):  # credentials no longer configured
        provider.mint_token(
            MediaSession(session.session_id, "999"), role="publisher", expires_at=2**31
        )
    foreign = MediaSession(session.session_id, "200002")  # session of another project
    with pytest.raises(MediaError):
        provider.mint_token(foreign, role="publisher", expires_at=int(time.time()) + 60)


async def test_ping_creates_a_session_with_the_default_credentials(
    provider: TokBoxProvider, standin: OpenTokStandIn
) -> None:
    assert await provider.ping() is None
    assert [r.api_key for r in standin.requests] == ["100001"]


@pytest.mark.parametrize("mode", ["500", "403", "hang"])
async def test_ping_reports_failures_without_retrying(standin: OpenTokStandIn, mode: Any) -> None:
    provider = media.from_settings(make_settings(standin.url, timeout=200, retry_on_error=3))
    standin.fail(mode)
    reason = await provider.ping()
    assert reason is not None and reason.startswith("TokBox Error: ")
    assert len(standin.requests) == 1
    standin.reset()
    assert await provider.ping() is None


async def test_ping_reports_an_unreachable_server() -> None:
    provider = TokBoxProvider(
        {"default": {"api_key": "1", "api_secret": "a" * 40}},
        api_url="http://127.0.0.1:9",
        timeout=0.5,
    )
    reason = await provider.ping()
    assert reason is not None and reason.startswith("TokBox Error: ")
    await provider.close()
