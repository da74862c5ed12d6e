"""Hostile input to the rooms endpoints: wrong JSON types, huge values, odd tokens.

Every one is a 4xx with the usual error body, never a 500 (decisions D4, D5).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.routes.conftest import Harness
from tests.support.client import assert_error
from tests.support.rooms import ROOM, act, create_room, join

WEIRD: list[Any] = [None, True, [], ["x"], {}, {"a": 1}, 1e308, -1, "", "x" * 5000]


@pytest.mark.parametrize("field", ["roomName", "roomOwner", "expiresIn", "maxSize", "channel"])
@pytest.mark.parametrize("value", WEIRD)
async def test_create_never_fails_on_wrong_types(harness: Harness, field: str, value: Any) -> None:
    owner = await harness.client.register()
    body = {**ROOM, field: value}
    if field == "roomName":
        body.pop("context")
    response = await harness.client.post("/rooms", json=body, hawk=owner)
    assert response.status_code in (201, 400), response.text
    if response.status_code == 400:
        assert_error(response, 400, 107)


@pytest.mark.parametrize("value", WEIRD)
async def test_update_never_fails_on_wrong_types(harness: Harness, value: Any) -> None:
    owner = await harness.client.register()
    token = (await create_room(harness, owner))["roomToken"]
    for field in ("roomOwner", "expiresIn", "maxSize", "context"):
        response = await harness.client.patch(f"/rooms/{token}", json={field: value}, hawk=owner)
        assert response.status_code in (200, 400), response.text


@pytest.mark.parametrize("value", WEIRD)
async def test_join_never_fails_on_wrong_types(harness: Harness, value: Any) -> None:
    owner = await harness.client.register()
    token = (await create_room(harness, owner))["roomToken"]
    response = await join(harness, token, client_max_size=value)
    if value == -1 or value is None or not isinstance(value, int | float) or value is True:
        assert_error(response, 400, 107, "clientMaxSize should be a number.")
    response = await join(harness, token, name=value)
    assert response.status_code in (200, 400), response.text


@pytest.mark.parametrize("value", WEIRD)
async def test_actions_never_fail_on_wrong_types(harness: Harness, value: Any) -> None:
    owner = await harness.client.register()
    token = (await create_room(harness, owner))["roomToken"]
    assert (await join(harness, token, owner)).status_code == 200
    response = await act(harness, token, value, owner)
    assert response.status_code == 400, response.text
    bodies: list[dict[str, Any]] = [
        {"event": value, "state": value, "connections": value, "sendStreams": 0, "recvStreams": 0},
        {"domains": value},
        {"domains": [value]},
        {"domains": [{"domain": value, "count": value}]},
    ]
    for fields in bodies:
        for action in ("status", "logDomain"):
            response = await act(harness, token, action, owner, **fields)
            assert response.status_code in (204, 400), response.text


@pytest.mark.parametrize("value", WEIRD)
async def test_bulk_delete_never_fails_on_wrong_types(harness: Harness, value: Any) -> None:
    owner = await harness.client.register()
    for tokens in (value, [value]):
        body = {"deleteRoomTokens": tokens}
        response = await harness.client.patch("/rooms", json=body, hawk=owner)
        assert response.status_code in (400, 404), response.text


@pytest.mark.parametrize("body", [b"[]", b'"join"', b"1", b"null", b"\xff\xfe"])
async def test_non_object_bodies_are_bad_json(harness: Harness, body: bytes) -> None:
    owner = await harness.client.register()
    token = (await create_room(harness, owner))["roomToken"]
    headers = {"Content-Type": "application/json"}
    response = await harness.client.post(f"/rooms/{token}", content=body, headers=headers)
    assert_error(response, 400, 106)
    response = await harness.client.post("/rooms", content=body, headers=headers, hawk=owner)
    assert_error(response, 400, 106)


async def test_oversized_bodies_are_413(harness: Harness) -> None:
    owner = await harness.client.register()
    huge = {**ROOM, "context": {"value": "x" * 200_000, "alg": "a", "wrappedKey": "k"}}
    response = await harness.client.post("/rooms", json=huge, hawk=owner)
    assert_error(response, 413, 113)


@pytest.mark.parametrize("token", ["x" * 3000, "%00", "%20", "a.b", "%C3%A9"])
async def test_odd_room_tokens_are_not_found(harness: Harness, token: str) -> None:
    owner = await harness.client.register()
    assert_error(await harness.client.get(f"/rooms/{token}"), 404, 105, "Token not found.")
    response = await harness.client.post(f"/rooms/{token}", json={"action": "join"})
    assert_error(response, 404, 105)
    response = await harness.client.delete(f"/rooms/{token}", hawk=owner)
    assert_error(response, 404, 105)


async def test_urlencoded_bodies_are_accepted(harness: Harness) -> None:
    owner = await harness.client.register()
    token = (await create_room(harness, owner))["roomToken"]
    response = await harness.client.post(
        f"/rooms/{token}",
        content=b"action=join&displayName=Guest&clientMaxSize=2",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200, response.text
