"""``/call-url`` (loop-api.md §4.10; D12 revived creation, D30 trailing slash) and the
link clicker's ``GET``/``POST /calls/{token}`` (§4.11, D8), on both backends."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from loop.config import CallUrlsSettings
from tests.routes.conftest import Harness
from tests.support.app import make_settings as make_settings
from tests.support.app import running_app
from tests.support.calls import sign_in
from tests.support.client import HawkSession, LoopClient, assert_error

HOUR = 3600
TOO_MANY_REQUESTS = {"code": 429, "errno": 117, "error": "Too many requests; retry later."}


async def create(h: Harness, session: HawkSession, **body: Any) -> dict[str, Any]:
    response = await h.client.post("/call-url", json={"callerId": "Alice", **body}, hawk=session)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def test_creation_answers_the_link(harness: Harness) -> None:
    session = await harness.client.register()
    answer = await create(harness, session)
    token = answer["callToken"]
    assert len(token) == 11
    assert answer["callUrl"] == answer["call_url"] == f"http://localhost:3000/c/{token}"
    assert answer["expiresAt"] == int(harness.clock.now()) + 720 * HOUR


async def test_trailing_slash_creates_too(harness: Harness) -> None:
    session = await harness.client.register()
    body = {"callerId": "Alice", "expiresIn": "5"}
    response = await harness.client.post("/call-url/", json=body, hawk=session)
    assert response.status_code == 200, response.text
    assert response.json()["expiresAt"] == int(harness.clock.now()) + 5 * HOUR


async def test_creation_requires_caller_id_and_hawk(harness: Harness) -> None:
    session = await harness.client.register()
    missing = await harness.client.post("/call-url", json={}, hawk=session)
    assert_error(missing, 400, 108, "Missing: callerId")
    anonymous = await harness.client.post("/call-url", json={"callerId": "x"})
    assert_error(anonymous, 401, 110)


@pytest.mark.parametrize(
    ("expires_in", "error"),
    [
        ("abc", "expiresIn should be a valid number"),
        (0, "expiresIn should be a valid number"),
        (721, "expiresIn should be less than 720"),
        ([1], "expiresIn should be a valid number"),
    ],
)
async def test_creation_checks_expires_in(harness: Harness, expires_in: Any, error: str) -> None:
    session = await harness.client.register()
    body = {"callerId": "Alice", "expiresIn": expires_in}
    assert_error(await harness.client.post("/call-url", json=body, hawk=session), 400, 107, error)


async def test_listing_shows_own_links_without_owner(harness: Harness) -> None:
    alice, bob = await harness.client.register(), await harness.client.register()
    await create(harness, alice, issuer="Alice", subject="hi")
    harness.clock.advance(1)
    await create(harness, alice)
    await create(harness, bob)
    listed = (await harness.client.get("/call-url", hawk=alice)).json()
    now = int(harness.clock.now())
    assert listed == [
        {
            "callerId": "Alice",
            "issuer": "Alice",
            "subject": "hi",
            "timestamp": now - 1,
            "expires": now - 1 + 720 * HOUR,
        },
        {"callerId": "Alice", "issuer": "", "timestamp": now, "expires": now + 720 * HOUR},
    ]


async def test_issuer_defaults_to_the_signed_in_identity(harness: Harness) -> None:
    alice = await sign_in(harness.services, harness.client, "Alice@Example.com")
    token = (await create(harness, alice))["callToken"]
    info = (await harness.client.get(f"/calls/{token}")).json()
    assert info["calleeFriendlyName"] == "Alice@Example.com"


async def test_links_expire(harness: Harness) -> None:
    session = await harness.client.register()
    token = (await create(harness, session, expiresIn=1))["callToken"]
    harness.clock.advance(HOUR)
    assert (await harness.client.get("/call-url", hawk=session)).json() == []
    assert_error(await harness.client.get(f"/calls/{token}"), 404, 105, "Token not found.")


async def test_update_overwrites_field_by_field(harness: Harness) -> None:
    session = await harness.client.register()
    token = (await create(harness, session, issuer="Alice", subject="s"))["callToken"]
    harness.clock.advance(10)
    body = {"expiresIn": 2, "callerId": "Alicia", "other": 1}
    response = await harness.client.put(f"/call-url/{token}", json=body, hawk=session)
    now = int(harness.clock.now())
    assert response.status_code == 200
    assert response.json() == {"expiresAt": now + 2 * HOUR}
    listed = (await harness.client.get("/call-url", hawk=session)).json()
    assert listed == [
        {"callerId": "Alicia", "issuer": "", "timestamp": now, "expires": now + 7200}
    ]


async def test_update_errors(harness: Harness) -> None:
    alice, bob = await harness.client.register(), await harness.client.register()
    token = (await create(harness, alice))["callToken"]
    unknown = await harness.client.put("/call-url/nope", json={}, hawk=alice)
    assert_error(unknown, 404, 105, "Token not found.")
    bad = await harness.client.put(f"/call-url/{token}", json={"expiresIn": "x"}, hawk=alice)
    assert_error(bad, 400, 107, "expiresIn should be a valid number")
    foreign = await harness.client.put(f"/call-url/{token}", json={}, hawk=bob)
    assert_error(foreign, 404, 105, "Not Found.")


async def test_delete(harness: Harness) -> None:
    alice, bob = await harness.client.register(), await harness.client.register()
    token = (await create(harness, alice))["callToken"]
    assert_error(await harness.client.delete("/call-url/nope", hawk=alice), 404, 105)
    assert_error(
        await harness.client.delete(f"/call-url/{token}", hawk=bob), 403, 110, "Forbidden"
    )
    assert (await harness.client.delete(f"/call-url/{token}", hawk=alice)).status_code == 204
    assert (await harness.client.get("/call-url", hawk=alice)).json() == []


async def test_creation_is_rate_limited_per_session(storage_url: str) -> None:
    limits = CallUrlsSettings(rate_limit=2, rate_limit_period=60)
    settings = dataclasses.replace(make_settings(storage_url), call_urls=limits)
    async with running_app(settings) as (app, _services, clock):
        import httpx

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://localhost:5000"
        ) as http:
            client = LoopClient(http, clock)
            alice, bob = await client.register(), await client.register()
            body = {"callerId": "A"}
            for _ in range(2):
                assert (await client.post("/call-url", json=body, hawk=alice)).status_code == 200
            clock.advance(15)
            limited = await client.post("/call-url", json=body, hawk=alice)
            assert limited.status_code == 429
            assert limited.json() == TOO_MANY_REQUESTS
            assert limited.headers["Retry-After"] == "45"
            assert (await client.post("/call-url", json=body, hawk=bob)).status_code == 200
            clock.advance(45)
            assert (await client.post("/call-url", json=body, hawk=alice)).status_code == 200


async def test_link_info_and_call(harness: Harness) -> None:
    alice = await harness.client.register()
    token = (await create(harness, alice, issuer="Alice"))["callToken"]
    created_at = int(harness.clock.now())
    info = await harness.client.get(f"/calls/{token}")
    assert info.json() == {"calleeFriendlyName": "Alice", "urlCreationDate": created_at}
    harness.clock.advance(3)
    body = {"callType": "audio", "channel": "standalone", "subject": "hello"}
    call = (await harness.client.post(f"/calls/{token}", json=body)).json()
    assert set(call) == {
        "callId",
        "websocketToken",
        "sessionId",
        "sessionToken",
        "apiKey",
        "progressURL",
    }
    assert call["progressURL"] == "ws://localhost:5000/websocket"
    listed = (await harness.client.get("/calls?version=0", hawk=alice)).json()["calls"]
    [incoming] = listed
    assert incoming["callId"] == call["callId"]
    assert incoming["callerId"] == "Alice"
    assert incoming["callToken"] == token
    assert incoming["callUrl"] == incoming["call_url"] == f"http://localhost:3000/c/{token}"
    assert incoming["urlCreationDate"] == created_at
    assert incoming["subject"] == "hello"
    assert incoming["websocketToken"] != call["websocketToken"]
    assert incoming["sessionToken"] != call["sessionToken"]


async def test_link_call_checks(harness: Harness) -> None:
    alice = await harness.client.register()
    token = (await create(harness, alice))["callToken"]
    unknown = await harness.client.post("/calls/nope", json={"callType": "audio"})
    assert_error(unknown, 404, 105, "Token not found.")
    missing = await harness.client.post(f"/calls/{token}", json={})
    assert_error(missing, 400, 108, "Missing: callType")
    wrong = await harness.client.post(f"/calls/{token}", json={"callType": "video"})
    assert_error(wrong, 400, 107, "callType should be 'audio' or 'audio-video'")
    long = {"callType": "audio", "subject": "x" * 125}
    assert_error(
        await harness.client.post(f"/calls/{token}", json=long),
        400,
        107,
        "Call subject should be shorter than 124 characters",
    )


async def test_routes_answer_under_v0(harness: Harness) -> None:
    harness.client.prefix = "/v0"
    session = await harness.client.register()
    answer = await create(harness, session)
    info = await harness.client.get(f"/calls/{answer['callToken']}")
    assert info.status_code == 200
