"""``/registration`` and ``/session`` (loop-api.md §3.2, §3.9, §4.6-4.7; decisions D6, D17)."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest

from loop.hawk import hawk_id_hmac
from loop.storage import PushTarget, Topic
from tests.routes.conftest import Harness
from tests.support.client import HawkSession, assert_error

CALLS_URL = "https://push.example.com/calls"
ROOMS_URL = "https://push.example.com/rooms"
WEB_PUSH = {
    "endpoint": "https://updates.push.services.mozilla.com/wpush/v2/abc",
    "keys": {
        "p256dh": base64.urlsafe_b64encode(b"\x04" + b"k" * 64).rstrip(b"=").decode(),
        "auth": base64.urlsafe_b64encode(b"a" * 16).rstrip(b"=").decode(),
    },
}


async def targets(harness: Harness, session: HawkSession, topic: Topic) -> list[PushTarget]:
    """What the storage holds for this guest device (a guest's user is its hawkIdHmac)."""
    user = hawk_id_hmac(harness.services.settings, session.id)
    return await harness.services.storage.push_targets(user, topic, now=harness.clock.now())


async def register(harness: Harness, body: Any = None, path: str = "/registration") -> HawkSession:
    response = await harness.client.post(path, json=body if body is not None else {})
    assert response.status_code == 200, response.text
    return HawkSession.from_token(response.headers["hawk-session-token"])


# -- session creation -------------------------------------------------------------------------


async def test_no_credentials_creates_a_session(harness: Harness, prefix: str) -> None:
    harness.client.prefix = prefix
    response = await harness.client.post("/registration")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-type"] == "application/json"
    assert re.fullmatch("[0-9a-f]{64}", response.headers["hawk-session-token"])
    assert response.headers["access-control-expose-headers"] == "Hawk-Session-Token"
    assert "server-authorization" not in response.headers
    assert "timestamp" in response.headers


async def test_every_registration_creates_a_distinct_session(harness: Harness) -> None:
    first = await harness.client.register()
    second = await harness.client.register()
    assert first.token != second.token and first.id != second.id


async def test_created_session_authenticates(harness: Harness) -> None:
    session = await harness.client.register()
    response = await harness.client.post("/registration", json={}, hawk=session)
    assert response.status_code == 200
    assert "hawk-session-token" not in response.headers
    assert "server-authorization" in response.headers


async def test_other_schemes_are_unsupported(harness: Harness) -> None:
    response = await harness.client.post(
        "/registration", json={}, headers={"Authorization": "Basic Zm9vOg=="}
    )
    assert_error(response, 401, 110, "Unsupported")
    assert response.headers["www-authenticate"] == 'BrowserID,Hawk error="Unsupported"'


async def test_undecodable_browserid_assertion_is_a_malformed_audience(
    harness: Harness,
) -> None:
    response = await harness.client.post(
        "/registration", json={}, headers={"Authorization": "BrowserID cert~assertion"}
    )
    assert_error(response, 401, 110, "Malformed audience")
    assert response.headers["www-authenticate"] == 'BrowserID error="Malformed audience"'


async def test_ill_formed_browserid_header_is_401(harness: Harness) -> None:
    response = await harness.client.post(
        "/registration", json={}, headers={"Authorization": "BrowserID a b"}
    )
    assert_error(response, 401, 110, "Unauthorized")
    assert response.headers["www-authenticate"] == "BrowserID"


@pytest.mark.parametrize("accept", ["text/html", "application/xml, text/*", "*/*;q=0"])
async def test_accept_gate_refuses_non_json_clients(harness: Harness, accept: str) -> None:
    response = await harness.client.post("/registration", json={}, headers={"Accept": accept})
    assert_error(response, 406, 106, "Request body should be defined as application/json")
    assert re.fullmatch("[0-9a-f]{64}", response.headers["hawk-session-token"])


@pytest.mark.parametrize("accept", ["application/json", "*/*", "text/html, application/*"])
async def test_accept_gate_admits_json_clients(harness: Harness, accept: str) -> None:
    response = await harness.client.post("/registration", json={}, headers={"Accept": accept})
    assert response.status_code == 200


async def test_accept_gate_comes_after_authentication(harness: Harness) -> None:
    stranger = HawkSession.from_token("cd" * 32)
    response = await harness.client.post(
        "/registration", json={}, hawk=stranger, headers={"Accept": "text/html"}
    )
    assert_error(response, 401, 110, "Unknown credentials")


async def test_malformed_json_is_400(harness: Harness) -> None:
    response = await harness.client.post(
        "/registration", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400, 106)


async def test_a_new_session_with_push_targets_is_one_round_trip(harness: Harness) -> None:
    """The start-up of every client (issue 13): the session and its targets in one call."""
    await register(harness, {"simplePushURL": CALLS_URL})  # Redis: scripts' first EVALs
    stats = harness.services.storage.stats
    before = stats.round_trips
    body = {"simplePushURLs": {"calls": CALLS_URL, "rooms": ROOMS_URL}}
    session = await register(harness, body)
    assert stats.round_trips - before == 1
    assert await targets(harness, session, "calls") == [CALLS_URL]
    assert await targets(harness, session, "rooms") == [ROOMS_URL]


@pytest.mark.parametrize(
    ("body", "headers", "status", "errno", "error"),
    [
        (
            {"simplePushURLs": {"rooms": ROOMS_URL, "calls": "nope"}},
            {},
            400,
            107,
            "simplePushURLs.calls should be a valid url",
        ),
        (
            {"simplePushURL": CALLS_URL},
            {"Accept": "text/html"},
            406,
            106,
            "Request body should be defined as application/json",
        ),
    ],
    ids=["invalid-url", "not-acceptable"],
)
async def test_a_refused_body_still_creates_the_session_and_answers_its_token(
    harness: Harness, body: Any, headers: dict[str, str], status: int, errno: int, error: str
) -> None:
    """As the original: the session was created before the body was read, so the error
    answer carries its token; the valid targets beside an invalid one are not stored."""
    await register(harness)  # Redis: scripts' first EVALs
    stats = harness.services.storage.stats
    before = stats.round_trips
    response = await harness.client.post("/registration", json=body, headers=headers)
    assert_error(response, status, errno, error)
    assert stats.round_trips - before == 1
    session = HawkSession.from_token(response.headers["hawk-session-token"])
    assert await targets(harness, session, "calls") == []
    assert await targets(harness, session, "rooms") == []
    signed = await harness.client.post("/registration", json={}, hawk=session)
    assert signed.status_code == 200


# -- push URLs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"simplePushURL": CALLS_URL}, "/registration"),
        ({}, "/registration?simplePushURL=https%3A%2F%2Fpush.example.com%2Fcalls"),
        ({"simple_push_url": CALLS_URL}, "/registration"),
        ({"simplePushURLs": {"calls": CALLS_URL}}, "/registration"),
    ],
    ids=["body", "query", "legacy", "per-topic"],
)
async def test_calls_url_sources(harness: Harness, prefix: str, body: Any, path: str) -> None:
    harness.client.prefix = prefix
    session = await register(harness, body, path)
    assert await targets(harness, session, "calls") == [CALLS_URL]
    assert await targets(harness, session, "rooms") == []


async def test_body_url_wins_over_query_and_legacy(harness: Harness) -> None:
    body = {"simplePushURL": "https://a.example.com", "simple_push_url": "https://c.example.com"}
    session = await register(harness, body, "/registration?simplePushURL=https://b.example.com")
    assert await targets(harness, session, "calls") == ["https://a.example.com"]


async def test_query_url_wins_over_legacy(harness: Harness) -> None:
    body = {"simple_push_url": "https://c.example.com"}
    session = await register(harness, body, "/registration?simplePushURL=https://b.example.com")
    assert await targets(harness, session, "calls") == ["https://b.example.com"]


async def test_empty_url_falls_through_to_the_next_source(harness: Harness) -> None:
    body = {"simplePushURL": ""}
    session = await register(harness, body, "/registration?simplePushURL=https://b.example.com")
    assert await targets(harness, session, "calls") == ["https://b.example.com"]


async def test_plain_url_overrides_per_topic_calls(harness: Harness) -> None:
    body = {
        "simplePushURL": "https://plain.example.com",
        "simplePushURLs": {"calls": CALLS_URL, "rooms": ROOMS_URL},
    }
    session = await register(harness, body)
    assert await targets(harness, session, "calls") == ["https://plain.example.com"]
    assert await targets(harness, session, "rooms") == [ROOMS_URL]


async def test_registrations_merge_per_topic(harness: Harness) -> None:
    session = await register(harness, {"simplePushURLs": {"calls": CALLS_URL}})
    client = harness.client
    response = await client.post(
        "/registration", json={"simplePushURLs": {"rooms": ROOMS_URL}}, hawk=session
    )
    assert response.status_code == 200
    assert await targets(harness, session, "calls") == [CALLS_URL]
    assert await targets(harness, session, "rooms") == [ROOMS_URL]
    response = await client.post(
        "/registration", json={"simplePushURL": "http://new.example.com"}, hawk=session
    )
    assert response.status_code == 200
    assert await targets(harness, session, "calls") == ["http://new.example.com"]
    assert await targets(harness, session, "rooms") == [ROOMS_URL]


async def test_registration_without_urls_keeps_existing_ones(harness: Harness) -> None:
    session = await register(harness, {"simplePushURL": CALLS_URL})
    response = await harness.client.post("/registration", json={}, hawk=session)
    assert response.status_code == 200
    assert await targets(harness, session, "calls") == [CALLS_URL]


async def test_urlencoded_body_is_accepted(harness: Harness) -> None:
    response = await harness.client.post(
        "/registration",
        content=b"simplePushURL=https%3A%2F%2Fpush.example.com%2Fcalls",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    session = HawkSession.from_token(response.headers["hawk-session-token"])
    assert await targets(harness, session, "calls") == [CALLS_URL]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            {"simplePushURL": "ftp://push.example.com"},
            "simplePushURLs.calls should be a valid url",
        ),
        ({"simple_push_url": "push.example.com"}, "simplePushURLs.calls should be a valid url"),
        ({"simplePushURL": 42}, "simplePushURLs.calls should be a valid url"),
        ({"simplePushURLs": {"rooms": "wss://x"}}, "simplePushURLs.rooms should be a valid url"),
        ({"simplePushURLs": {"rooms": None}}, "simplePushURLs.rooms should be a valid url"),
        (
            {"simplePushURLs": {"rooms": "https://x/" + "a" * 3000}},
            "simplePushURLs.rooms should be a valid url",
        ),
        (
            {"simplePushURLs": {"calls": "https://x/\n"}},
            "simplePushURLs.calls should be a valid url",
        ),
        ({"simplePushURLs": {"chat": CALLS_URL}}, "simplePushURLs.chat is not a known topic"),
        ({"simplePushURLs": "https://x"}, "simplePushURLs should be an object"),
    ],
)
async def test_invalid_push_urls_are_400(harness: Harness, body: Any, error: str) -> None:
    response = await harness.client.post("/registration", json=body)
    assert_error(response, 400, 107, error)


async def test_query_url_is_validated(harness: Harness) -> None:
    response = await harness.client.post("/registration?simplePushURL=javascript:x", json={})
    assert_error(response, 400, 107, "simplePushURLs.calls should be a valid url")


async def test_invalid_url_changes_nothing(harness: Harness) -> None:
    session = await register(harness, {"simplePushURL": CALLS_URL})
    body = {"simplePushURLs": {"rooms": ROOMS_URL, "calls": "nope"}}
    response = await harness.client.post("/registration", json=body, hawk=session)
    assert_error(response, 400, 107)
    assert await targets(harness, session, "calls") == [CALLS_URL]
    assert await targets(harness, session, "rooms") == []


# -- Web Push subscriptions (D17) -----------------------------------------------------------


async def test_web_push_subscription_is_stored(harness: Harness) -> None:
    body = {"simplePushURLs": {"rooms": WEB_PUSH, "calls": CALLS_URL}}
    session = await register(harness, body)
    assert await targets(harness, session, "rooms") == [WEB_PUSH]
    assert await targets(harness, session, "calls") == [CALLS_URL]


async def test_web_push_subscription_extra_fields_are_dropped(harness: Harness) -> None:
    body = {"simplePushURLs": {"rooms": {**WEB_PUSH, "expirationTime": None, "x": 1}}}
    session = await register(harness, body)
    assert await targets(harness, session, "rooms") == [WEB_PUSH]


def _with(**changes: Any) -> dict[str, Any]:
    keys = {**WEB_PUSH["keys"], **changes.pop("keys", {})}  # type: ignore[dict-item]
    return {**WEB_PUSH, "keys": keys, **changes}


@pytest.mark.parametrize(
    ("subscription", "error"),
    [
        (_with(endpoint="http://push.example.com/x"), "endpoint should be a valid https url"),
        (_with(endpoint=None), "endpoint should be a valid https url"),
        ({"endpoint": WEB_PUSH["endpoint"]}, "keys should be an object"),
        (_with(keys={"p256dh": "!!!"}), "keys.p256dh should be 65 bytes in base64url"),
        (_with(keys={"p256dh": "AAAA"}), "keys.p256dh should be 65 bytes in base64url"),
        (_with(keys={"auth": None}), "keys.auth should be 16 bytes in base64url"),
        (_with(keys={"auth": "a+b/" * 6}), "keys.auth should be 16 bytes in base64url"),
    ],
)
async def test_invalid_web_push_subscription_is_400(
    harness: Harness, subscription: dict[str, Any], error: str
) -> None:
    response = await harness.client.post(
        "/registration", json={"simplePushURLs": {"rooms": subscription}}
    )
    assert_error(response, 400, 107, "simplePushURLs.rooms." + error)


# -- DELETE /registration, DELETE /session --------------------------------------------------


async def test_delete_registration_forgets_this_device(harness: Harness, prefix: str) -> None:
    harness.client.prefix = prefix
    body = {"simplePushURLs": {"calls": CALLS_URL, "rooms": ROOMS_URL}}
    session = await register(harness, body)
    other = await register(harness, {"simplePushURL": "https://other.example.com"})
    response = await harness.client.delete(
        "/registration?simplePushURL=https%3A%2F%2Fpush.example.com%2Frooms", hawk=session
    )
    assert response.status_code == 204
    assert response.content == b""
    assert await targets(harness, session, "calls") == []
    assert await targets(harness, session, "rooms") == []
    assert await targets(harness, other, "calls") == ["https://other.example.com"]


async def test_delete_registration_without_any_is_204(harness: Harness) -> None:
    session = await harness.client.register()
    response = await harness.client.delete("/registration", hawk=session)
    assert response.status_code == 204


async def test_delete_registration_requires_hawk(harness: Harness) -> None:
    response = await harness.client.delete("/registration")
    assert_error(response, 401, 110, "Unauthorized")


async def test_delete_session_refuses_guests(harness: Harness, prefix: str) -> None:
    harness.client.prefix = prefix
    session = await harness.client.register()
    response = await harness.client.delete("/session", hawk=session)
    assert_error(response, 403, 110, "You should be a registered user to perform this action.")


async def test_delete_session_requires_hawk(harness: Harness) -> None:
    response = await harness.client.delete("/session")
    assert_error(response, 401, 110, "Unauthorized")


async def test_delete_session_logs_a_registered_device_out(harness: Harness) -> None:
    session = await harness.client.register()
    services = harness.services
    await services.storage.bind_identity(
        hawk_id_hmac(services.settings, session.id),
        user_mac="user-mac",
        encrypted_identity="sealed",
        now=harness.clock.now(),
        ttl=services.settings.hawk_session_duration,
    )
    body = {"simplePushURL": CALLS_URL}
    response = await harness.client.post("/registration", json=body, hawk=session)
    assert response.status_code == 200
    now = harness.clock.now()
    assert await services.storage.push_targets("user-mac", "calls", now=now) == [CALLS_URL]
    response = await harness.client.delete("/session", hawk=session)
    assert response.status_code == 204
    assert await services.storage.push_targets("user-mac", "calls", now=now) == []
    response = await harness.client.delete("/registration", hawk=session)
    assert_error(response, 401, 110, "Unknown credentials")
