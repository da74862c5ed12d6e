"""Reaping expired participants: how owners learn that someone silently dropped out
(loop-api.md §5.6 "participant expiry", decisions.md §6 "noticed promptly")."""

from __future__ import annotations

import asyncio
import dataclasses

from loop.storage import RoomChange, Storage
from loop.storage.testing.factories import (
    T0,
    join,
    make_participant,
    make_room,
    make_session,
    open_session,
)

EXTENDED = T0 + 8 * 7 * 24 * 3600


def by_owner(changes: list[RoomChange]) -> list[RoomChange]:
    return sorted(changes, key=lambda change: change.owner)


class ReapContract:
    async def test_nothing_to_reap(self, storage: Storage) -> None:
        await storage.create_room(make_room(), now=T0)
        await join(storage, "room-1", make_participant(ttl=300))
        assert await storage.reap_participants(now=T0 + 299.5, room_expires_at=EXTENDED) == []

    async def test_reaping_touches_the_room_and_reports(self, storage: Storage) -> None:
        await open_session(storage, make_session(user_mac="mac-1"), targets={"rooms": "r1"})
        room = make_room(owner="mac-1")
        await storage.create_room(room, now=T0)
        staying = make_participant("p2", ttl=600)
        await join(storage, "room-1", make_participant("p1", ttl=300))
        await join(storage, "room-1", staying)
        changes = await storage.reap_participants(now=T0 + 300.5, room_expires_at=EXTENDED)
        assert changes == [RoomChange(owner="mac-1", version=T0 + 300, push_targets=("r1",))]
        state = await storage.get_room("room-1", now=T0 + 301)
        assert state is not None and state.participants == (staying,)
        assert state.room == dataclasses.replace(room, update_time=T0 + 300, expires_at=EXTENDED)

    async def test_each_expired_participant_is_reported_once(self, storage: Storage) -> None:
        await storage.create_room(make_room(), now=T0)
        await join(storage, "room-1", make_participant(ttl=300))
        assert len(await storage.reap_participants(now=T0 + 300, room_expires_at=EXTENDED)) == 1
        assert await storage.reap_participants(now=T0 + 301, room_expires_at=EXTENDED) == []

    async def test_one_change_per_room(self, storage: Storage) -> None:
        await storage.create_room(make_room("room-a", owner="owner-a"), now=T0)
        await storage.create_room(make_room("room-b", owner="owner-b"), now=T0)
        for pid in ("p1", "p2", "p3"):
            await join(storage, "room-a", make_participant(pid, ttl=10))
        await join(storage, "room-b", make_participant("p1", ttl=20))
        changes = await storage.reap_participants(now=T0 + 20, room_expires_at=EXTENDED)
        assert by_owner(changes) == [
            RoomChange(owner="owner-a", version=T0 + 20, push_targets=()),
            RoomChange(owner="owner-b", version=T0 + 20, push_targets=()),
        ]

    async def test_limit_caps_the_participants_removed(self, storage: Storage) -> None:
        for token in ("room-a", "room-b", "room-c"):
            await storage.create_room(make_room(token, owner=f"owner-{token}"), now=T0)
            await join(storage, token, make_participant(ttl=10))
        first = await storage.reap_participants(now=T0 + 10, room_expires_at=EXTENDED, limit=2)
        second = await storage.reap_participants(now=T0 + 10, room_expires_at=EXTENDED, limit=2)
        third = await storage.reap_participants(now=T0 + 10, room_expires_at=EXTENDED, limit=2)
        assert (len(first), len(second), third) == (2, 1, [])
        owners = sorted(change.owner for change in first + second)
        assert owners == ["owner-room-a", "owner-room-b", "owner-room-c"]

    async def test_limit_counts_participants_not_rooms(self, storage: Storage) -> None:
        await storage.create_room(make_room(), now=T0)
        for pid in ("p1", "p2", "p3"):
            await join(storage, "room-1", make_participant(pid, ttl=10))
        rounds = [
            len(await storage.reap_participants(now=T0 + 10, room_expires_at=EXTENDED, limit=2))
            for _ in range(3)
        ]
        assert rounds == [1, 1, 0]

    async def test_expired_rooms_are_not_touched(self, storage: Storage) -> None:
        room = make_room(expires_at=T0 + 100)
        await storage.create_room(room, now=T0)
        await join(storage, "room-1", make_participant(ttl=300))
        assert await storage.reap_participants(now=T0 + 300, room_expires_at=EXTENDED) == []
        assert await storage.get_room("room-1", now=T0 + 301) is None
        assert await storage.reap_participants(now=T0 + 302, room_expires_at=EXTENDED) == []

    async def test_deleted_rooms_leave_nothing_to_reap(self, storage: Storage) -> None:
        await storage.create_room(make_room(), now=T0)
        await join(storage, "room-1", make_participant(ttl=10))
        await storage.delete_room("room-1", owner="owner-1", now=T0 + 1, deleted_ttl=60)
        assert await storage.reap_participants(now=T0 + 10, room_expires_at=EXTENDED) == []

    async def test_departed_participants_are_not_reaped(self, storage: Storage) -> None:
        await storage.create_room(make_room(), now=T0)
        await join(storage, "room-1", make_participant(ttl=10))
        await storage.leave_room("room-1", "participant-1", now=T0 + 1, room_expires_at=EXTENDED)
        assert await storage.reap_participants(now=T0 + 10, room_expires_at=EXTENDED) == []

    async def test_refreshed_participants_are_not_reaped(self, storage: Storage) -> None:
        await storage.create_room(make_room(), now=T0)
        await join(storage, "room-1", make_participant(ttl=10))
        await storage.refresh_participant(
            "room-1", "participant-1", now=T0 + 5, expires_at=T0 + 100
        )
        assert await storage.reap_participants(now=T0 + 10, room_expires_at=EXTENDED) == []

    async def test_concurrent_reapers_report_each_participant_once(self, storage: Storage) -> None:
        await storage.create_room(make_room(), now=T0)
        await join(storage, "room-1", make_participant(ttl=10))
        results = await asyncio.gather(
            *(storage.reap_participants(now=T0 + 10, room_expires_at=EXTENDED) for _ in range(4))
        )
        assert sum(len(changes) for changes in results) == 1
