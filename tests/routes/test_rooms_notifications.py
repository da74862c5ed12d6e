"""Owner notifications (loop-api.md §5.6, §7; decisions D11), through a real push server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.routes.conftest import Harness
from tests.support.push_server import PushServer
from tests.support.rooms import (
    act,
    create_room,
    joined,
    register_push,
    registered,
)


@pytest.fixture
def push() -> Iterator[PushServer]:
    with PushServer() as server:
        yield server


async def versions(push: PushServer, n: int) -> list[int]:
    """The versions of the first ``n`` notifications, each a ``PUT`` of ``version=<n>``."""
    requests = await push.wait_for(n)
    assert all(r.method == "PUT" for r in requests)
    return sorted(int(r.form["version"]) for r in requests)


async def settle(harness: Harness, push: PushServer, expected: int) -> None:
    """Once every notification scheduled so far is delivered, exactly ``expected``
    arrived: none stray, none missing."""
    await harness.services.push.drain()
    assert len(push.requests) == expected, [r.form for r in push.requests]


async def test_every_room_event_notifies_the_owner(harness: Harness, push: PushServer) -> None:
    owner = await harness.client.register()
    await register_push(harness, owner, push.url("/owner"))
    created = await create_room(harness, owner)
    token = created["roomToken"]
    t0 = int(harness.clock.now())
    assert await versions(push, 1) == [t0]
    harness.clock.advance(1)
    await harness.client.patch(f"/rooms/{token}", json={"roomOwner": "B"}, hawk=owner)
    harness.clock.advance(1)
    guest = await harness.client.register()
    await joined(harness, token, guest)
    harness.clock.advance(1)
    await act(harness, token, "refresh", guest)  # no notification
    status: dict[str, Any] = {
        "event": "e",
        "state": "s",
        "connections": 1,
        "sendStreams": 1,
        "recvStreams": 1,
    }
    await act(harness, token, "status", guest, **status)
    harness.clock.advance(1)
    await act(harness, token, "leave", guest)
    harness.clock.advance(1)
    await harness.client.delete(f"/rooms/{token}", hawk=owner)
    assert await versions(push, 5) == [t0, t0 + 1, t0 + 2, t0 + 4, t0 + 5]
    assert {r.path for r in push.requests} == {"/owner"}
    await settle(harness, push, 5)


async def test_version_is_the_rooms_new_ctime(harness: Harness, push: PushServer) -> None:
    owner = await harness.client.register()
    token = (await create_room(harness, owner))["roomToken"]
    await register_push(harness, owner, push.url("/owner"))
    harness.clock.advance(42)
    await joined(harness, token)
    (version,) = await versions(push, 1)
    rooms = (await harness.client.get(f"/rooms?version={version}", hawk=owner)).json()
    assert [room["roomToken"] for room in rooms] == [token]
    assert rooms[0]["ctime"] == version


async def test_all_devices_of_a_registered_owner_are_notified(
    harness: Harness, push: PushServer
) -> None:
    laptop = await registered(harness, "alice@example.com")
    phone = await registered(harness, "alice@example.com")
    twin = await registered(harness, "alice@example.com")
    await register_push(harness, laptop, push.url("/laptop"))
    await register_push(harness, phone, push.url("/phone"))
    await register_push(harness, twin, push.url("/phone"))  # deduplicated
    await create_room(harness, phone)
    await push.wait_for(2)
    await settle(harness, push, 2)
    assert sorted(r.path for r in push.requests) == ["/laptop", "/phone"]


async def test_other_users_are_not_notified(harness: Harness, push: PushServer) -> None:
    owner = await harness.client.register()
    guest = await harness.client.register()
    await register_push(harness, guest, push.url("/guest"))
    token = (await create_room(harness, owner))["roomToken"]
    await joined(harness, token, guest)
    await settle(harness, push, 0)


async def test_bulk_delete_notifies_only_when_a_room_went(
    harness: Harness, push: PushServer
) -> None:
    owner = await harness.client.register()
    await register_push(harness, owner, push.url("/owner"))
    token = (await create_room(harness, owner))["roomToken"]
    await push.wait_for(1)
    harness.clock.advance(5)
    response = await harness.client.patch(
        "/rooms", json={"deleteRoomTokens": ["nope"]}, hawk=owner
    )
    assert response.status_code == 404
    await settle(harness, push, 1)
    body = {"deleteRoomTokens": [token, "nope"]}
    assert (await harness.client.patch("/rooms", json=body, hawk=owner)).status_code == 207
    assert (await versions(push, 2))[1] == int(harness.clock.now())
    await settle(harness, push, 2)


async def test_a_failing_push_service_does_not_fail_the_request(
    harness: Harness, push: PushServer
) -> None:
    push.respond_with(500)
    owner = await harness.client.register()
    await register_push(harness, owner, push.url("/owner"))
    token = (await create_room(harness, owner))["roomToken"]
    push.hang()
    assert (await act(harness, token, "join", displayName="G", clientMaxSize=2)).status_code == 200
    push.release()
