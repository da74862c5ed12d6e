"""``GET /rooms[?version=]``: full views, versions and tombstones (§4.12, §5.5-5.7)."""

from __future__ import annotations

import pytest

from tests.routes.conftest import Harness
from tests.support.client import assert_error
from tests.support.rooms import CONTEXT, create_room, joined


async def test_empty_list_is_an_empty_array(harness: Harness, prefix: str) -> None:
    harness.client.prefix = prefix
    owner = await harness.client.register()
    response = await harness.client.get("/rooms", hawk=owner)
    assert response.status_code == 200
    assert response.json() == []


async def test_list_shows_full_views_oldest_change_first(harness: Harness) -> None:
    owner = await harness.client.register()
    first = await create_room(harness, owner, roomOwner="Alice", maxSize=3)
    harness.clock.advance(10)
    second = await create_room(harness, owner)
    harness.clock.advance(10)
    await joined(harness, first["roomToken"])  # touching moves it to the end
    response = await harness.client.get("/rooms", hawk=owner)
    rooms = response.json()
    assert [room["roomToken"] for room in rooms] == [second["roomToken"], first["roomToken"]]
    room = rooms[1]
    now = int(harness.clock.now())
    assert room["roomUrl"] == first["roomUrl"]
    assert room["context"] == CONTEXT and "roomName" not in room
    assert (room["roomOwner"], room["maxSize"], room["clientMaxSize"]) == ("Alice", 3, 3)
    assert room["creationTime"] == now - 20 and room["urlCreationDate"] == now - 20
    assert room["ctime"] == now and room["lastUsed"] == now
    assert room["expiresAt"] == now + 1344 * 3600
    assert room["currSize"] == 1 and len(room["participants"]) == 1
    assert rooms[0]["participants"] == [] and rooms[0]["currSize"] == 0


async def test_only_the_users_rooms_are_listed(harness: Harness) -> None:
    owner = await harness.client.register()
    other = await harness.client.register()
    await create_room(harness, other)
    assert (await harness.client.get("/rooms", hawk=owner)).json() == []


async def test_version_filters_rooms_and_adds_tombstones(harness: Harness) -> None:
    owner = await harness.client.register()
    old = (await create_room(harness, owner))["roomToken"]
    gone = (await create_room(harness, owner))["roomToken"]
    harness.clock.advance(100)
    version = int(harness.clock.now())
    new = (await create_room(harness, owner))["roomToken"]
    assert (await harness.client.delete(f"/rooms/{gone}", hawk=owner)).status_code == 204
    rooms = (await harness.client.get(f"/rooms?version={version}", hawk=owner)).json()
    assert [room["roomToken"] for room in rooms] == [new, gone]
    assert rooms[1] == {"roomToken": gone, "deleted": True}
    everything = (await harness.client.get("/rooms", hawk=owner)).json()
    assert [room["roomToken"] for room in everything] == [old, new]
    assert old not in {room["roomToken"] for room in rooms}


@pytest.mark.parametrize("version", ["0", "-5", "abc", ""])
async def test_a_version_that_is_not_positive_lists_everything(
    harness: Harness, version: str
) -> None:
    owner = await harness.client.register()
    kept = (await create_room(harness, owner))["roomToken"]
    gone = (await create_room(harness, owner))["roomToken"]
    await harness.client.delete(f"/rooms/{gone}", hawk=owner)
    rooms = (await harness.client.get(f"/rooms?version={version}", hawk=owner)).json()
    assert rooms == [room for room in rooms if "deleted" not in room]
    assert [room["roomToken"] for room in rooms] == [kept]


async def test_tombstones_fade_after_the_deleted_ttl(harness: Harness) -> None:
    owner = await harness.client.register()
    version = int(harness.clock.now())
    gone = (await create_room(harness, owner))["roomToken"]
    await harness.client.delete(f"/rooms/{gone}", hawk=owner)
    harness.clock.advance(harness.services.settings.rooms.deleted_ttl + 1)
    rooms = (await harness.client.get(f"/rooms?version={version}", hawk=owner)).json()
    assert rooms == []


async def test_expired_rooms_drop_out_of_the_list(harness: Harness) -> None:
    owner = await harness.client.register()
    await create_room(harness, owner, expiresIn=1)
    harness.clock.advance(3600)
    assert (await harness.client.get("/rooms", hawk=owner)).json() == []


async def test_listing_requires_hawk(harness: Harness) -> None:
    assert_error(await harness.client.get("/rooms"), 401, 110)
