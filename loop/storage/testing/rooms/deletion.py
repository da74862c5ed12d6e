"""Deleting rooms, one or in bulk, and the deletion log that ``GET /rooms?version=`` reads
(loop-api.md §4.12, §5.7)."""

from __future__ import annotations

import pytest

from loop.storage import NotRoomOwner, RoomChange, RoomNotFound, Storage
from loop.storage.testing.factories import (
    DELETED_TTL,
    T0,
    join,
    make_participant,
    make_room,
    make_session,
    open_session,
)


async def deleted_since(storage: Storage, owner: str, since: int, now: float) -> list[str]:
    return sorted((await storage.list_rooms(owner, since=since, now=now)).deleted)


class DeletionContract:
    async def test_deleted_room_is_gone(self, storage: Storage) -> None:
        room = make_room()
        await storage.create_room(room, now=T0)
        await storage.delete_room(room.token, owner=room.owner, now=T0 + 1, deleted_ttl=60)
        assert await storage.get_room(room.token, now=T0 + 1) is None
        assert (await storage.list_rooms(room.owner, since=None, now=T0 + 1)).rooms == ()

    async def test_delete_reports_the_change(self, storage: Storage) -> None:
        await open_session(storage, make_session(user_mac="mac-1"), targets={"rooms": "r1"})
        room = make_room(owner="mac-1")
        await storage.create_room(room, now=T0)
        change = await storage.delete_room(room.token, owner="mac-1", now=T0 + 9, deleted_ttl=60)
        assert change == RoomChange(owner="mac-1", version=T0 + 9, push_targets=("r1",))

    async def test_delete_unknown_room_is_not_found(self, storage: Storage) -> None:
        with pytest.raises(RoomNotFound):
            await storage.delete_room("room-unknown", owner="intruder", now=T0, deleted_ttl=60)

    async def test_delete_by_another_user_changes_nothing(self, storage: Storage) -> None:
        room = make_room()
        await storage.create_room(room, now=T0)
        with pytest.raises(NotRoomOwner):
            await storage.delete_room(room.token, owner="intruder", now=T0, deleted_ttl=60)
        state = await storage.get_room(room.token, now=T0)
        assert state is not None and state.room == room
        assert await deleted_since(storage, room.owner, T0, T0) == []
        assert await deleted_since(storage, "intruder", T0, T0) == []

    async def test_delete_takes_the_participants_along(self, storage: Storage) -> None:
        room = make_room()
        await storage.create_room(room, now=T0)
        await join(storage, room.token, make_participant())
        await storage.delete_room(room.token, owner=room.owner, now=T0 + 1, deleted_ttl=60)
        with pytest.raises(RoomNotFound):
            await storage.refresh_participant(
                room.token, "participant-1", now=T0 + 1, expires_at=T0 + 100
            )
        await storage.create_room(make_room(now=T0 + 2), now=T0 + 2)
        state = await storage.get_room(room.token, now=T0 + 2)
        assert state is not None and state.participants == ()

    async def test_deletion_is_logged_at_its_time(self, storage: Storage) -> None:
        room = make_room()
        await storage.create_room(room, now=T0)
        await storage.delete_room(room.token, owner=room.owner, now=T0 + 10, deleted_ttl=60)
        assert await deleted_since(storage, room.owner, T0 + 10, T0 + 20) == [room.token]
        assert await deleted_since(storage, room.owner, T0 + 11, T0 + 20) == []

    async def test_deletion_log_is_forgotten_after_deleted_ttl(self, storage: Storage) -> None:
        room = make_room()
        await storage.create_room(room, now=T0)
        await storage.delete_room(
            room.token, owner=room.owner, now=T0 + 10, deleted_ttl=DELETED_TTL
        )
        last_moment = T0 + 10 + DELETED_TTL - 0.5
        assert await deleted_since(storage, room.owner, T0, last_moment) == [room.token]
        assert await deleted_since(storage, room.owner, T0, T0 + 10 + DELETED_TTL) == []

    async def test_first_deletion_time_wins(self, storage: Storage) -> None:
        await storage.create_room(make_room(), now=T0)
        await storage.delete_room("room-1", owner="owner-1", now=T0 + 10, deleted_ttl=600)
        await storage.create_room(make_room(now=T0 + 20), now=T0 + 20)
        await storage.delete_room("room-1", owner="owner-1", now=T0 + 30, deleted_ttl=600)
        assert await deleted_since(storage, "owner-1", T0 + 10, T0 + 40) == ["room-1"]
        assert await deleted_since(storage, "owner-1", T0 + 20, T0 + 40) == []

    async def test_deletion_log_is_per_owner(self, storage: Storage) -> None:
        await storage.create_room(make_room("room-a", owner="owner-a"), now=T0)
        await storage.create_room(make_room("room-b", owner="owner-b"), now=T0)
        await storage.delete_room("room-a", owner="owner-a", now=T0, deleted_ttl=60)
        assert await deleted_since(storage, "owner-a", T0, T0) == ["room-a"]
        assert await deleted_since(storage, "owner-b", T0, T0) == []

    async def test_list_without_since_reports_no_deletions(self, storage: Storage) -> None:
        await storage.create_room(make_room(), now=T0)
        await storage.delete_room("room-1", owner="owner-1", now=T0, deleted_ttl=60)
        listing = await storage.list_rooms("owner-1", since=None, now=T0)
        assert listing.rooms == () and listing.deleted == ()

    async def test_bulk_delete_takes_only_the_owners_live_rooms(self, storage: Storage) -> None:
        for token in ("room-1", "room-2", "room-3"):
            await storage.create_room(make_room(token), now=T0)
        await storage.create_room(make_room("room-other", owner="owner-2"), now=T0)
        await storage.create_room(make_room("room-expired", expires_at=T0 + 5), now=T0)
        tokens = ["room-1", "room-2", "room-other", "room-expired", "room-unknown", "room-1"]
        deleted, _ = await storage.delete_rooms(
            tokens, owner="owner-1", now=T0 + 10, deleted_ttl=60
        )
        assert sorted(deleted) == ["room-1", "room-2"]
        listing = await storage.list_rooms("owner-1", since=None, now=T0 + 10)
        assert [state.room.token for state in listing.rooms] == ["room-3"]
        assert await storage.get_room("room-other", now=T0 + 10) is not None
        assert await deleted_since(storage, "owner-1", T0, T0 + 10) == ["room-1", "room-2"]
        assert await deleted_since(storage, "owner-2", T0, T0 + 10) == []

    async def test_bulk_delete_reports_the_change(self, storage: Storage) -> None:
        await open_session(storage, make_session(user_mac="mac-1"), targets={"rooms": "r1"})
        await storage.create_room(make_room(owner="mac-1"), now=T0)
        deleted, change = await storage.delete_rooms(
            ["room-1"], owner="mac-1", now=T0 + 3, deleted_ttl=60
        )
        assert deleted == ["room-1"]
        assert change == RoomChange(owner="mac-1", version=T0 + 3, push_targets=("r1",))

    async def test_bulk_delete_of_nothing_still_reports(self, storage: Storage) -> None:
        await open_session(storage, make_session(user_mac="mac-1"), targets={"rooms": "r1"})
        deleted, change = await storage.delete_rooms(
            ["room-unknown"], owner="mac-1", now=T0 + 3, deleted_ttl=60
        )
        assert deleted == []
        assert change == RoomChange(owner="mac-1", version=T0 + 3, push_targets=("r1",))

    async def test_bulk_delete_takes_the_participants_along(self, storage: Storage) -> None:
        await storage.create_room(make_room(), now=T0)
        await join(storage, "room-1", make_participant())
        await storage.delete_rooms(["room-1"], owner="owner-1", now=T0 + 1, deleted_ttl=60)
        await storage.create_room(make_room(now=T0 + 2), now=T0 + 2)
        state = await storage.get_room("room-1", now=T0 + 2)
        assert state is not None and state.participants == ()
