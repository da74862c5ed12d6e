"""``PATCH /rooms/{token}`` (loop-api.md §4.12; decisions D9)."""

from __future__ import annotations

from tests.routes.conftest import Harness
from tests.support.client import assert_error
from tests.support.rooms import CONTEXT, create_room, room_state

HOUR = 3600
ALERT = "The roomName parameter has been deprecated, you should use context."


async def test_update_answers_the_expiry_and_applies_the_changes(
    harness: Harness, prefix: str
) -> None:
    harness.client.prefix = prefix
    owner = await harness.client.register()
    token = (await create_room(harness, owner))["roomToken"]
    harness.clock.advance(60)
    new_context = {**CONTEXT, "value": "renamed"}
    body = {"context": new_context, "roomOwner": "Bob", "maxSize": "3", "expiresIn": 2}
    response = await harness.client.patch(f"/rooms/{token}", json=body, hawk=owner)
    assert response.status_code == 200, response.text
    now = int(harness.clock.now())
    assert response.json() == {"expiresAt": now + 2 * HOUR}
    room = (await room_state(harness, token)).room
    assert (room.context, room.room_owner, room.max_size) == (new_context, "Bob", 3)
    assert (room.update_time, room.expires_at, room.expires_in) == (now, now + 2 * HOUR, 2)


async def test_without_expires_in_the_expiry_is_kept(harness: Harness) -> None:
    owner = await harness.client.register()
    created = await create_room(harness, owner, expiresIn=3)
    harness.clock.advance(600)
    response = await harness.client.patch(
        f"/rooms/{created['roomToken']}", json={"context": CONTEXT}, hawk=owner
    )
    assert response.json() == {"expiresAt": created["expiresAt"]}
    room = (await room_state(harness, created["roomToken"])).room
    assert room.update_time == int(harness.clock.now())
    assert room.expires_at == created["expiresAt"]


async def test_fields_not_sent_are_kept(harness: Harness) -> None:
    owner = await harness.client.register()
    token = (await create_room(harness, owner, roomOwner="Alice", maxSize=4))["roomToken"]
    response = await harness.client.patch(f"/rooms/{token}", json={}, hawk=owner)
    assert response.status_code == 200
    room = (await room_state(harness, token)).room
    assert (room.room_owner, room.max_size, room.context) == ("Alice", 4, CONTEXT)


async def test_legacy_room_name_update_has_an_alert(harness: Harness) -> None:
    owner = await harness.client.register()
    token = (await create_room(harness, owner))["roomToken"]
    response = await harness.client.patch(f"/rooms/{token}", json={"roomName": "New"}, hawk=owner)
    assert response.status_code == 200
    assert response.headers["alert"] == ALERT
    assert (await room_state(harness, token)).room.room_name == "New"


async def test_unknown_room_is_404_before_parameter_checks(harness: Harness) -> None:
    owner = await harness.client.register()
    response = await harness.client.patch("/rooms/nope", json={"maxSize": 99}, hawk=owner)
    assert_error(response, 404, 105, "Token not found.")


async def test_parameters_are_checked_before_ownership(harness: Harness) -> None:
    owner = await harness.client.register()
    stranger = await harness.client.register()
    token = (await create_room(harness, owner))["roomToken"]
    response = await harness.client.patch(f"/rooms/{token}", json={"maxSize": 99}, hawk=stranger)
    assert_error(response, 400, 107, "maxSize cannot be greater than 5")
    response = await harness.client.patch(f"/rooms/{token}", json={"maxSize": 2}, hawk=stranger)
    assert_error(response, 403, 999, "Authenticated user is not the owner of this room.")
    assert (await room_state(harness, token)).room.max_size == 5


async def test_alert_is_kept_on_errors_after_the_room_name_check(harness: Harness) -> None:
    owner = await harness.client.register()
    stranger = await harness.client.register()
    token = (await create_room(harness, owner))["roomToken"]
    response = await harness.client.patch(f"/rooms/{token}", json={"roomName": "x"}, hawk=stranger)
    assert_error(response, 403, 999)
    assert response.headers["alert"] == ALERT
    response = await harness.client.patch("/rooms/nope", json={"roomName": "x"}, hawk=owner)
    assert_error(response, 404, 105)
    assert "alert" not in response.headers


async def test_update_requires_hawk_before_anything(harness: Harness) -> None:
    response = await harness.client.patch("/rooms/nope", json={})
    assert_error(response, 401, 110)
    assert response.headers["www-authenticate"] == "Hawk"


async def test_expired_room_cannot_be_updated(harness: Harness) -> None:
    owner = await harness.client.register()
    token = (await create_room(harness, owner, expiresIn=1))["roomToken"]
    harness.clock.advance(HOUR)
    response = await harness.client.patch(f"/rooms/{token}", json={}, hawk=owner)
    assert_error(response, 404, 105)
