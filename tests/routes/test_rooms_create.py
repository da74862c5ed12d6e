"""``POST /rooms`` (loop-api.md §4.12; decisions D2, D5, D7)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from loop.media.fake import FAKE_API_KEY
from tests.routes.conftest import Harness
from tests.support.client import assert_error
from tests.support.rooms import CONTEXT, ROOM, create_room, room_state, user_key

HOUR = 3600
ALERT = "The roomName parameter has been deprecated, you should use context."


async def test_create_answers_201_with_token_url_and_expiry(harness: Harness, prefix: str) -> None:
    harness.client.prefix = prefix
    owner = await harness.client.register()
    response = await harness.client.post("/rooms", json=ROOM, hawk=owner)
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"roomToken", "roomUrl", "expiresAt"}
    assert re.fullmatch(r"[A-Za-z0-9_-]{11}", body["roomToken"])
    assert body["roomUrl"] == f"http://localhost:5000/{body['roomToken']}"
    assert body["expiresAt"] == int(harness.clock.now()) + 1344 * HOUR
    assert "alert" not in response.headers


async def test_create_stores_the_room_for_the_callers_user(harness: Harness) -> None:
    owner = await harness.client.register()
    body = await create_room(harness, owner, roomOwner="Bob", maxSize=3, channel="nightly")
    room = (await room_state(harness, body["roomToken"])).room
    now = int(harness.clock.now())
    assert room.owner == user_key(harness, owner)
    assert (room.room_owner, room.max_size, room.context) == ("Bob", 3, CONTEXT)
    assert (room.creation_time, room.update_time, room.expires_in) == (now, now, 1344)
    assert room.channel == "nightly"  # unknown channels use the default credentials (D7)
    assert room.api_key == FAKE_API_KEY and room.session_id


async def test_every_room_gets_its_own_token_and_media_session(harness: Harness) -> None:
    owner = await harness.client.register()
    first = await create_room(harness, owner)
    second = await create_room(harness, owner)
    assert first["roomToken"] != second["roomToken"]
    rooms = [await room_state(harness, body["roomToken"]) for body in (first, second)]
    assert rooms[0].room.session_id != rooms[1].room.session_id


async def test_context_is_stored_verbatim(harness: Harness) -> None:
    owner = await harness.client.register()
    context = {**CONTEXT, "value": "line one\r\nline two é", "extra": [1, {"x": None}]}
    body = await create_room(harness, owner, context=context)
    assert (await room_state(harness, body["roomToken"])).room.context == context


async def test_expires_in_sets_the_expiry(harness: Harness) -> None:
    owner = await harness.client.register()
    body = await create_room(harness, owner, expiresIn=5)
    assert body["expiresAt"] == int(harness.clock.now()) + 5 * HOUR


@pytest.mark.parametrize(
    ("field", "value", "stored"),
    [("maxSize", "3", 3), ("maxSize", 4.0, 4), ("expiresIn", "5", 5), ("expiresIn", " 7 ", 7)],
)
async def test_numbers_may_be_decimal_strings(
    harness: Harness, field: str, value: Any, stored: int
) -> None:
    owner = await harness.client.register()
    body = await create_room(harness, owner, **{field: value})
    room = (await room_state(harness, body["roomToken"])).room
    assert (room.max_size if field == "maxSize" else room.expires_in) == stored


async def test_legacy_room_name_is_accepted_with_an_alert(harness: Harness) -> None:
    owner = await harness.client.register()
    legacy = {"roomName": "UX Discussion", "roomOwner": "Alice", "maxSize": 2, "expiresIn": 1344}
    response = await harness.client.post("/rooms", json=legacy, hawk=owner)
    assert response.status_code == 201, response.text
    assert response.headers["alert"] == ALERT
    room = (await room_state(harness, response.json()["roomToken"])).room
    assert (room.room_name, room.context) == ("UX Discussion", None)


async def test_create_requires_hawk(harness: Harness) -> None:
    response = await harness.client.post("/rooms", json=ROOM)
    assert_error(response, 401, 110)
    assert response.headers["www-authenticate"] == "Hawk"


async def test_missing_parameters_are_listed(harness: Harness) -> None:
    owner = await harness.client.register()
    response = await harness.client.post("/rooms", json={}, hawk=owner)
    assert_error(response, 400, 108, "Missing: context,roomName, roomOwner, maxSize")
    response = await harness.client.post("/rooms", json={"context": CONTEXT}, hawk=owner)
    assert_error(response, 400, 108, "Missing: roomOwner, maxSize")


async def test_clients_that_do_not_accept_json_are_refused(harness: Harness) -> None:
    owner = await harness.client.register()
    response = await harness.client.post(
        "/rooms", json=ROOM, hawk=owner, headers={"Accept": "text/html"}
    )
    assert_error(response, 406, 106, "Request body should be defined as application/json")


async def test_malformed_json_is_400(harness: Harness) -> None:
    owner = await harness.client.register()
    response = await harness.client.post(
        "/rooms", content=b"{nope", hawk=owner, headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400, 106)


INVALID = [
    ({"roomName": "x" * 101}, "roomName should be shorter than 100 characters"),
    (
        {"roomName": "x", "context": CONTEXT},
        "roomName has been deprecated, please store it encrypted inside the context.",
    ),
    (
        {"context": {"value": "v", "alg": "a"}},
        "context should be an object containing `value`, `alg` and `wrappedKey` properties.",
    ),
    (
        {"context": None},
        "context should be an object containing `value`, `alg` and `wrappedKey` properties.",
    ),
    ({"roomOwner": "x" * 256}, "roomOwner should be shorter than 255 characters"),
    ({"expiresIn": "soon"}, "expiresIn should be a valid number"),
    ({"expiresIn": 1345}, "expiresIn cannot be greater than 1344"),
    ({"expiresIn": 0}, "expiresIn should be at least 1"),
    ({"expiresIn": 2.5}, "expiresIn should be a valid number"),
    ({"maxSize": "abc"}, "maxSize should be a valid number"),
    ({"maxSize": 6}, "maxSize cannot be greater than 5"),
    ({"maxSize": 1}, "maxSize should be at least 2"),
    ({"maxSize": None}, "maxSize should be a valid number"),
]


@pytest.mark.parametrize(("fields", "error"), INVALID)
async def test_invalid_parameters(harness: Harness, fields: dict[str, Any], error: str) -> None:
    owner = await harness.client.register()
    response = await harness.client.post("/rooms", json={**ROOM, **fields}, hawk=owner)
    assert_error(response, 400, 107, error)
    assert ("alert" in response.headers) == ("roomName" in fields)


async def test_checks_run_in_the_spec_order(harness: Harness) -> None:
    owner = await harness.client.register()
    everything_wrong = {
        "roomName": "x" * 101,
        "context": None,
        "roomOwner": "x" * 256,
        "expiresIn": "never",
        "maxSize": 99,
    }
    expected = [
        ("roomName", "ok", "roomName should be shorter than 100 characters"),
        (
            "context",
            CONTEXT,
            "roomName has been deprecated, please store it encrypted inside the context.",
        ),
        ("roomOwner", "Alice", "roomOwner should be shorter than 255 characters"),
        ("expiresIn", 5, "expiresIn should be a valid number"),
        ("maxSize", 2, "maxSize cannot be greater than 5"),
    ]
    body: dict[str, Any] = {**ROOM, **everything_wrong}
    for field, fixed, error in expected:
        response = await harness.client.post("/rooms", json=body, hawk=owner)
        assert_error(response, 400, 107, error)
        body[field] = fixed
        if field == "context":
            body.pop("roomName")
    response = await harness.client.post("/rooms", json=body, hawk=owner)
    assert response.status_code == 201, response.text


async def test_configured_limits_appear_in_the_messages(storage_url: str) -> None:
    from loop.config import RoomsSettings
    from tests.support.rooms import harness_with

    limits = RoomsSettings(max_room_name_size=15, max_room_owner_size=10, max_ttl=10, max_size=3)
    async with harness_with(storage_url, rooms=limits) as harness:
        owner = await harness.client.register()
        cases: list[tuple[dict[str, Any], str]] = [
            ({"roomName": "x" * 16}, "roomName should be shorter than 15 characters"),
            ({"roomOwner": "x" * 11}, "roomOwner should be shorter than 10 characters"),
            ({"expiresIn": 11}, "expiresIn cannot be greater than 10"),
            ({"maxSize": 4}, "maxSize cannot be greater than 3"),
        ]
        for fields, error in cases:
            body = {"roomOwner": "A", "maxSize": 3, "roomName": "name", **fields}
            response = await harness.client.post("/rooms", json=body, hawk=owner)
            assert_error(response, 400, 107, error)
