"""The early rooms draft, accepted as aliases (decisions D2)."""

from __future__ import annotations

from tests.routes.conftest import Harness
from tests.support.client import assert_error
from tests.support.rooms import ROOM, create_room, room_state


async def test_post_room_url_creates_a_room_with_200(harness: Harness, prefix: str) -> None:
    harness.client.prefix = prefix
    owner = await harness.client.register()
    response = await harness.client.post("/room-url", json=ROOM, hawk=owner)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"roomToken", "roomUrl", "expiresAt"}
    assert (await harness.client.get(f"/rooms/{body['roomToken']}")).status_code == 200


async def test_post_room_url_validates_like_post_rooms(harness: Harness) -> None:
    owner = await harness.client.register()
    response = await harness.client.post("/room-url", json={"roomOwner": "A"}, hawk=owner)
    assert_error(response, 400, 108, "Missing: context,roomName, maxSize")


async def test_put_room_url_updates(harness: Harness) -> None:
    owner = await harness.client.register()
    token = (await create_room(harness, owner))["roomToken"]
    response = await harness.client.put(f"/room-url/{token}", json={"maxSize": "2"}, hawk=owner)
    assert response.status_code == 200
    assert set(response.json()) == {"expiresAt"}
    assert (await room_state(harness, token)).room.max_size == 2


async def test_delete_room_url_deletes(harness: Harness) -> None:
    owner = await harness.client.register()
    token = (await create_room(harness, owner))["roomToken"]
    assert (await harness.client.delete(f"/room-url/{token}", hawk=owner)).status_code == 204
    assert_error(await harness.client.get(f"/rooms/{token}"), 404, 105)


async def test_draft_names_appear_in_views(harness: Harness) -> None:
    owner = await harness.client.register()
    token = (await create_room(harness, owner))["roomToken"]
    body = {"operation": "join", "displayName": "Guest", "clientMaxSize": "2"}
    assert (await harness.client.post(f"/rooms/{token}", json=body, hawk=owner)).status_code == 200
    view = (await harness.client.get(f"/rooms/{token}", hawk=owner)).json()
    assert view["urlCreationDate"] == view["creationTime"]
    assert view["lastUsed"] == view["ctime"]
    assert view["currSize"] == 1
    assert view["participants"][0]["id"] == view["participants"][0]["roomConnectionId"]
