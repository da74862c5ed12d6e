"""Joins decided on the room as this process last saw it (loop/storage/rooms.py
``RecentRooms``): one storage call instead of a read and a write, and never a seat the
room does not have, whatever other processes did meanwhile (simulated here by changing
the room through the storage directly, which leaves this process's memory as it was)."""

from __future__ import annotations

from loop.storage import RoomState
from tests.routes.conftest import Harness
from tests.support.client import HawkSession, assert_error
from tests.support.rooms import create_room, join


async def remembered_room(harness: Harness, **fields: object) -> tuple[HawkSession, str]:
    owner = await harness.client.register()
    token: str = (await create_room(harness, owner, **fields))["roomToken"]
    assert harness.services.storage.recent_rooms.get(token) is not None
    return owner, token


def memory(harness: Harness, token: str) -> RoomState:
    state = harness.services.storage.recent_rooms.get(token)
    assert state is not None
    return state


async def test_a_join_on_a_remembered_room_is_one_round_trip(harness: Harness) -> None:
    owner, token = await remembered_room(harness, maxSize=5)
    assert (await join(harness, token, owner)).status_code == 200  # the scripts' first
    assert (await join(harness, token)).status_code == 200  # EVALs done
    stats = harness.services.storage.stats
    before = stats.round_trips
    assert (await join(harness, token)).status_code == 200
    assert stats.round_trips - before == 1
    state = memory(harness, token)
    fresh = await harness.services.storage.get_room(token, now=harness.clock.now())
    assert fresh is not None and fresh.generation == state.generation
    assert [p.id for p in fresh.participants] == [p.id for p in state.participants]


async def test_a_join_elsewhere_is_seen_before_seating(harness: Harness) -> None:
    """Room of 2, the owner's seat kept: one guest fits. A guest joined through another
    process; this one's memory lacks it: its join conflicts, is decided again, refused."""
    owner, token = await remembered_room(harness, maxSize=2)
    stale = memory(harness, token)
    assert (await join(harness, token)).status_code == 200
    harness.services.storage.recent_rooms.remember(stale)
    assert_error(await join(harness, token), 400, 202, "The room is full.")


async def test_a_leave_elsewhere_does_not_refuse_a_seat(harness: Harness) -> None:
    """The memory still holds a guest who left: the room looks full, so the refusal is
    decided again on a fresh read, which has the seat."""
    owner, token = await remembered_room(harness, maxSize=2)
    assert (await join(harness, token)).status_code == 200
    full = memory(harness, token)
    guest = full.participants[0]
    await harness.services.storage.leave_room(
        token, guest.id, now=harness.clock.now(), room_expires_at=int(harness.clock.now()) + 60
    )
    harness.services.storage.recent_rooms.remember(full)
    assert (await join(harness, token)).status_code == 200


async def test_an_update_elsewhere_is_seen_before_seating(harness: Harness) -> None:
    """A guest in a room of 5; another process lowers it to 2 (the owner's seat kept:
    no guest more); the join decided on 5 conflicts, is decided again, refused."""
    owner, token = await remembered_room(harness, maxSize=5)
    assert (await join(harness, token)).status_code == 200
    stale = memory(harness, token)
    user = stale.room.owner
    await harness.services.storage.update_room(
        token,
        owner=user,
        changes={"max_size": 2, "update_time": int(harness.clock.now())},
        now=harness.clock.now(),
    )
    harness.services.storage.recent_rooms.remember(stale)
    assert_error(await join(harness, token), 400, 202, "The room is full.")


async def test_a_room_deleted_elsewhere_is_not_found(harness: Harness) -> None:
    owner, token = await remembered_room(harness)
    stale = memory(harness, token)
    assert (await harness.client.delete(f"/rooms/{token}", hawk=owner)).status_code == 204
    harness.services.storage.recent_rooms.remember(stale)
    assert_error(await join(harness, token), 404, 105, "Token not found.")
