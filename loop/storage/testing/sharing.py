"""What several processes sharing one store must agree on (``--workers``, or several hosts
on one Redis). For backends whose data another process can open: the subclass provides
``open_sharing``, a coroutine function opening another storage on the same data (closed
by the test)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from loop.storage import RoomChange, Storage
from loop.storage.testing.factories import T0, join, make_participant, make_room
from loop.storage.testing.rooms.reaping import EXTENDED

OpenSharing = Callable[[], Awaitable[Storage]]


class SharedStoreContract:
    async def test_reapers_of_several_processes_report_each_participant_once(
        self, storage: Storage, open_sharing: OpenSharing
    ) -> None:
        """Six processes' reapers, five passes each at once: every lapsed participant is
        reported by one of them, once, and every room is touched."""
        for index in range(30):
            token = f"room-{index}"
            await storage.create_room(make_room(token, owner=f"owner-{index}"), now=T0)
            for pid in ("p1", "p2", "p3"):
                await join(storage, token, make_participant(pid, ttl=10 + index % 3))
        reapers = [await open_sharing() for _ in range(6)]
        try:
            results = await asyncio.gather(
                *(
                    reaper.reap_participants(now=T0 + 20, room_expires_at=EXTENDED, limit=7)
                    for _ in range(5)
                    for reaper in reapers
                )
            )
        finally:
            for reaper in reapers:
                await reaper.close()
        changes = [change for result in results for change in result]
        assert all(isinstance(change, RoomChange) for change in changes)
        assert {change.owner for change in changes} == {f"owner-{i}" for i in range(30)}
        assert await storage.reap_participants(now=T0 + 20, room_expires_at=EXTENDED) == []
        for index in range(30):
            state = await storage.get_room(f"room-{index}", now=T0 + 20)
            assert state is not None and state.participants == ()
            assert state.room.update_time == T0 + 20
