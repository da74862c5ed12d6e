"""Listing a user's rooms, the data behind ``GET /rooms[?version=]`` (loop-api.md §4.12)."""

from __future__ import annotations

from loop.storage import Storage
from loop.storage.testing.factories import T0, join, make_participant, make_room


async def listed(storage: Storage, owner: str, *, since: int | None, now: float) -> list[str]:
    return [
        state.room.token for state in (await storage.list_rooms(owner, since=since, now=now)).rooms
    ]


class ListingContract:
    async def test_user_without_rooms_lists_nothing(self, storage: Storage) -> None:
        listing = await storage.list_rooms("owner-1", since=None, now=T0)
        assert listing.rooms == () and listing.deleted == ()

    async def test_rooms_are_sorted_by_update_time_then_token(self, storage: Storage) -> None:
        for token, updated in [("d", 3), ("c", 1), ("b", 2), ("a", 2), ("e", 0)]:
            await storage.create_room(make_room(token, update_time=T0 + updated), now=T0)
        assert await listed(storage, "owner-1", since=None, now=T0) == ["e", "c", "a", "b", "d"]

    async def test_since_keeps_rooms_updated_at_or_after_it(self, storage: Storage) -> None:
        for token, updated in [("a", 1), ("b", 2), ("c", 3)]:
            await storage.create_room(make_room(token, update_time=T0 + updated), now=T0)
        assert await listed(storage, "owner-1", since=T0 + 2, now=T0) == ["b", "c"]
        assert await listed(storage, "owner-1", since=T0 + 4, now=T0) == []

    async def test_only_the_owners_live_rooms_are_listed(self, storage: Storage) -> None:
        await storage.create_room(make_room("mine"), now=T0)
        await storage.create_room(make_room("theirs", owner="owner-2"), now=T0)
        await storage.create_room(make_room("gone", expires_at=T0 + 10), now=T0)
        assert await listed(storage, "owner-1", since=None, now=T0 + 9) == ["gone", "mine"]
        assert await listed(storage, "owner-1", since=None, now=T0 + 10) == ["mine"]

    async def test_listed_rooms_carry_their_live_participants(self, storage: Storage) -> None:
        await storage.create_room(make_room(), now=T0)
        first = make_participant("p1", ttl=100)
        second = make_participant("p2", ttl=50)
        await join(storage, "room-1", first)
        await join(storage, "room-1", second)
        listing = await storage.list_rooms("owner-1", since=None, now=T0 + 10)
        state = await storage.get_room("room-1", now=T0 + 10)
        assert listing.rooms == (state,)
        assert state is not None and state.participants == (first, second)
        later = await storage.list_rooms("owner-1", since=None, now=T0 + 60)
        assert later.rooms[0].participants == (first,)
