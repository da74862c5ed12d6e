from __future__ import annotations

import base64
import json
import re

import pytest

from loop import media
from loop.clock import FakeClock
from loop.config import MediaSettings, Settings
from loop.media import MediaError, MediaSession
from loop.media.fake import (
    FAKE_API_KEY,
    FAKE_API_SECRET,
    FakeProvider,
    decode_session_id,
    decode_token,
)


@pytest.fixture
def provider() -> FakeProvider:
    return FakeProvider(clock=FakeClock(1_700_000_000))


def test_from_settings_picks_the_fake_provider() -> None:
    provider = media.from_settings(Settings(media=MediaSettings(provider="fake")))
    assert isinstance(provider, FakeProvider)
    assert provider.name == "fake"


def test_every_channel_uses_the_original_fake_api_key(provider: FakeProvider) -> None:
    assert FAKE_API_KEY == "4468744"
    assert provider.api_key("default") == "4468744"
    assert provider.api_key("no-such-channel") == "4468744"


async def test_session_ids_have_the_opentok_shape(provider: FakeProvider) -> None:
    first = await provider.create_session("default")
    second = await provider.create_session("nightly")
    assert first.api_key == second.api_key == FAKE_API_KEY
    assert re.fullmatch(r"1_[A-Za-z0-9_-]+", first.session_id)
    assert re.fullmatch(r"2_[A-Za-z0-9_-]+", second.session_id)
    assert first.session_id.startswith("1_MX40NDY4NzQ0fn")  # base64url("1~4468744~")
    fields = decode_session_id(first.session_id)
    assert fields[:4] == ["1", FAKE_API_KEY, "", "1"]
    assert first.session_id != second.session_id


async def test_session_ids_are_unique_across_provider_instances() -> None:
    one = await FakeProvider().create_session("default")
    other = await FakeProvider().create_session("default")
    assert one.session_id != other.session_id


async def test_token_encodes_session_role_expiry_and_data(provider: FakeProvider) -> None:
    session = await provider.create_session("default")
    data = json.dumps({"displayName": "Alice", "account": "alice@example.com", "id": "c-1"})
    token = provider.mint_token(session, role="moderator", expires_at=1_700_086_400, data=data)

    assert re.fullmatch(r"T1==[A-Za-z0-9+/]+=*", token)
    raw = base64.b64decode(token[4:]).decode()
    assert raw.startswith(f"partner_id={FAKE_API_KEY}&sig=")
    decoded = decode_token(token)
    assert decoded.partner_id == FAKE_API_KEY
    assert decoded.session_id == session.session_id
    assert decoded.role == "moderator"
    assert decoded.expire_time == 1_700_086_400
    assert decoded.create_time == 1_700_000_000
    assert json.loads(decoded.connection_data or "") == {
        "displayName": "Alice",
        "account": "alice@example.com",
        "id": "c-1",
    }
    assert decoded.signature_valid(FAKE_API_SECRET)
    assert not decoded.signature_valid("another secret")


async def test_token_without_data_has_no_connection_data(provider: FakeProvider) -> None:
    session = await provider.create_session("default")
    token = provider.mint_token(session, role="publisher", expires_at=1_700_000_060)
    decoded = decode_token(token)
    assert decoded.role == "publisher"
    assert decoded.connection_data is None


async def test_tokens_differ_per_mint(provider: FakeProvider) -> None:
    session = await provider.create_session("default")
    tokens = {
        provider.mint_token(session, role="publisher", expires_at=1_700_000_060) for _ in range(20)
    }
    assert len(tokens) > 1


def test_token_for_a_foreign_session_is_refused(provider: FakeProvider) -> None:
    with pytest.raises(MediaError):
        provider.mint_token(
            MediaSession(session_id="1_abc", api_key="123"), role="publisher", expires_at=1
        )


@pytest.mark.parametrize(
    "bad", ["", "T2==abc", "T1==!!!", "T1==" + base64.b64encode(b"no separator").decode()]
)
def test_decode_token_rejects_garbage(bad: str) -> None:
    with pytest.raises(ValueError):
        decode_token(bad)


def test_decode_session_id_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        decode_session_id("no-prefix")


async def test_ping_and_close_need_nothing(provider: FakeProvider) -> None:
    assert await provider.ping() is None
    await provider.close()
