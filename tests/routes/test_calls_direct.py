"""``POST /calls`` and ``GET /calls`` (loop-api.md §4.11, §7), on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from loop.media.fake import decode_token
from tests.routes.conftest import Harness
from tests.support.calls import sign_in
from tests.support.client import HawkSession, assert_error
from tests.support.push_server import PushServer


@pytest.fixture
def push() -> Iterator[PushServer]:
    with PushServer() as server:
        yield server


async def call(h: Harness, caller: HawkSession, callee: Any, **body: Any) -> Any:
    payload = {"calleeId": callee, "callType": "audio-video", **body}
    return await h.client.post("/calls", json=payload, hawk=caller)


async def test_direct_call_reaches_every_device_of_the_callee(
    harness: Harness, push: PushServer
) -> None:
    services, client = harness.services, harness.client
    alice = await sign_in(services, client, "alice@example.com")
    bob_laptop = await sign_in(services, client, "bob@example.com", {"calls": push.url("/b1")})
    await sign_in(services, client, "Bob@Example.com", {"calls": push.url("/b2")})
    response = await call(harness, alice, "BOB@example.com", subject="lunch?")
    assert response.status_code == 200, response.text
    answer = response.json()
    assert set(answer) == {
        "callId",
        "websocketToken",
        "sessionId",
        "sessionToken",
        "apiKey",
        "progressURL",
    }
    assert decode_token(answer["sessionToken"]).role == "publisher"
    pushed = await push.wait_for(2)
    assert sorted(r.path for r in pushed) == ["/b1", "/b2"]
    version = int(pushed[0].form["version"])
    assert version == int(harness.clock.now())
    listed = await client.get(f"/calls?version={version}", hawk=bob_laptop)
    [incoming] = listed.json()["calls"]
    assert incoming["callId"] == answer["callId"]
    assert incoming["callerId"] == "alice@example.com"
    assert incoming["callType"] == "audio-video"
    assert incoming["subject"] == "lunch?"
    assert incoming["sessionId"] == answer["sessionId"]
    assert decode_token(incoming["sessionToken"]).role == "publisher"
    assert "callToken" not in incoming and "callUrl" not in incoming
    later = await client.get(f"/calls?version={version + 1}", hawk=bob_laptop)
    assert later.json() == {"calls": []}


async def test_phone_numbers_are_normalised(harness: Harness, push: PushServer) -> None:
    services, client = harness.services, harness.client
    alice = await sign_in(services, client, "alice@example.com")
    await sign_in(services, client, "+33675002145", {"calls": push.url("/phone")})
    callees = [{"phoneNumber": " 0675002145 ", "mcc": 208}, {"noPhone": 1}, "nobody@x.org"]
    assert (await call(harness, alice, callees)).status_code == 200
    assert [r.path for r in await push.wait_for(1)] == ["/phone"]
    other = [{"phoneNumber": "+33675002145", "mcc": 310}]
    assert (await call(harness, alice, other)).status_code == 200


async def test_nobody_reachable(harness: Harness) -> None:
    services, client = harness.services, harness.client
    alice = await sign_in(services, client, "alice@example.com")
    await sign_in(services, client, "bob@example.com")  # no calls push target
    for callee in ("bob@example.com", [{"phoneNumber": "0675002145"}], []):
        assert_error(
            await call(harness, alice, callee),
            400,
            122,
            "Could not find any existing user to call",
        )


async def test_checks_in_order(harness: Harness) -> None:
    guest = await harness.client.register()
    assert_error(await call(harness, guest, "x"), 403, 110)
    alice = await sign_in(harness.services, harness.client, "alice@example.com")
    no_callee = await harness.client.post("/calls", json={"callType": "audio"}, hawk=alice)
    assert_error(no_callee, 400, 108, "Missing: calleeId")
    no_type = await harness.client.post("/calls", json={"calleeId": "b"}, hawk=alice)
    assert_error(no_type, 400, 108, "Missing: callType")
    assert_error(await call(harness, alice, "b", callType="x"), 400, 107)
    long = await call(harness, alice, "b", subject="s" * 125)
    assert_error(long, 400, 107, "Call subject should be shorter than 124 characters")


async def test_listing_requires_version(harness: Harness) -> None:
    session = await harness.client.register()
    assert_error(await harness.client.get("/calls", hawk=session), 400, 108, "Missing: version")
    assert_error(await harness.client.get("/calls?version=0"), 401, 110)


async def test_calls_are_listed_for_call_duration_only(harness: Harness, push: PushServer) -> None:
    services, client = harness.services, harness.client
    alice = await sign_in(services, client, "alice@example.com")
    bob = await sign_in(services, client, "bob@example.com", {"calls": push.url("/b")})
    assert (await call(harness, alice, "bob@example.com")).status_code == 200
    harness.clock.advance(services.settings.call_duration - 1)
    assert len((await client.get("/calls?version=0", hawk=bob)).json()["calls"]) == 1
    harness.clock.advance(1)
    assert (await client.get("/calls?version=0", hawk=bob)).json() == {"calls": []}


async def test_account_deletion_forgets_calls_and_links(
    harness: Harness, push: PushServer
) -> None:
    services, client = harness.services, harness.client
    alice = await sign_in(services, client, "alice@example.com")
    bob = await sign_in(services, client, "bob@example.com", {"calls": push.url("/b")})
    assert (await call(harness, alice, "bob@example.com")).status_code == 200
    link = await client.post("/call-url", json={"callerId": "Bob"}, hawk=bob)
    token = link.json()["callToken"]
    assert (await client.delete("/account", hawk=bob)).status_code == 204
    bob_again = await sign_in(services, client, "bob@example.com")
    assert (await client.get("/calls?version=0", hawk=bob_again)).json() == {"calls": []}
    assert (await client.get(f"/calls/{token}")).status_code == 404
