"""Room expiry: visibility is decided by ``expires_at`` against ``now`` alone, whatever the
backend has or has not garbage-collected yet (loop-api.md §5.8)."""

from __future__ import annotations

import pytest

from loop.storage import RoomNotFound, Storage
from loop.storage.testing.factories import T0, join, make_participant, make_room


class ExpiryContract:
    async def test_room_is_visible_strictly_before_expires_at(self, storage: Storage) -> None:
        await storage.create_room(make_room(expires_at=T0 + 100), now=T0)
        assert await storage.get_room("room-1", now=T0 + 99.5) is not None
        assert await storage.get_room("room-1", now=T0 + 100) is None

    async def test_room_created_already_expired_is_invisible(self, storage: Storage) -> None:
        await storage.create_room(make_room(expires_at=T0), now=T0)
        assert await storage.get_room("room-1", now=T0) is None

    async def test_expired_room_refuses_every_mutation(self, storage: Storage) -> None:
        await storage.create_room(make_room(expires_at=T0 + 100), now=T0)
        await join(storage, "room-1", make_participant(ttl=500))
        later = T0 + 100
        with pytest.raises(RoomNotFound):
            await storage.update_room(
                "room-1",
                owner="owner-1",
                changes={"update_time": later, "expires_at": later + 100},
                now=later,
            )
        with pytest.raises(RoomNotFound):
            await storage.delete_room("room-1", owner="owner-1", now=later, deleted_ttl=60)
        with pytest.raises(RoomNotFound):
            await storage.join_room(
                "room-1", make_participant("p2"), generation=0, now=later, room_expires_at=T0 + 999
            )
        with pytest.raises(RoomNotFound):
            await storage.refresh_participant(
                "room-1", "participant-1", now=later, expires_at=T0 + 999
            )
        with pytest.raises(RoomNotFound):
            await storage.leave_room(
                "room-1", "participant-1", now=later, room_expires_at=T0 + 999
            )
        assert await storage.get_room("room-1", now=later) is None
        listing = await storage.list_rooms("owner-1", since=T0, now=later)
        assert listing.rooms == () and listing.deleted == ()

    async def test_join_pushes_the_expiry_out(self, storage: Storage) -> None:
        await storage.create_room(make_room(expires_at=T0 + 100), now=T0)
        await join(storage, "room-1", make_participant(), now=T0 + 50, room_expires_at=T0 + 1000)
        assert await storage.get_room("room-1", now=T0 + 999) is not None
        assert await storage.get_room("room-1", now=T0 + 1000) is None

    async def test_expired_token_can_be_reused(self, storage: Storage) -> None:
        await storage.create_room(make_room(expires_at=T0 + 100), now=T0)
        await join(storage, "room-1", make_participant(ttl=500))
        fresh = make_room(owner="owner-2", now=T0 + 200, context=None)
        await storage.create_room(fresh, now=T0 + 200)
        state = await storage.get_room("room-1", now=T0 + 200)
        assert state is not None
        assert (state.room, state.participants) == (fresh, ())
        listing = await storage.list_rooms("owner-1", since=None, now=T0 + 200)
        assert listing.rooms == ()
