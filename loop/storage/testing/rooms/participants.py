"""Participants: soft state with a TTL, joins guarded by a generation
(loop-api.md §4.12 actions, §5.2, §5.6)."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loop.storage import (
    JoinConflict,
    NotParticipant,
    RoomChange,
    RoomNotFound,
    RoomState,
    Storage,
)
from loop.storage.testing.factories import (
    T0,
    examples,
    join,
    make_participant,
    make_room,
    make_session,
    open_session,
)

_tokens = itertools.count()


async def live(storage: Storage, token: str = "room-1", *, now: float = T0) -> RoomState:
    state = await storage.get_room(token, now=now)
    assert state is not None, f"room {token} should be live at {now}"
    return state


class JoinContract:
    async def test_joined_participant_is_read_back(self, storage: Storage) -> None:
        await storage.create_room(make_room(), now=T0)
        participant = make_participant(user="mac-2", display_name="Zoë ✓", expires_at=T0 + 0.25)
        await join(storage, "room-1", participant)
        assert (await live(storage)).participants == (participant,)

    async def test_participants_are_in_joined_order(self, storage: Storage) -> None:
        await storage.create_room(make_room(), now=T0)
        joined = [make_participant(pid) for pid in ("p-c", "p-a", "p-b")]
        for participant in joined:
            await join(storage, "room-1", participant)
        assert (await live(storage)).participants == tuple(joined)

    async def test_joining_again_replaces_the_participant(self, storage: Storage) -> None:
        await storage.create_room(make_room(), now=T0)
        await join(storage, "room-1", make_participant("p1"))
        other = make_participant("p2")
        await join(storage, "room-1", other)
        again = make_participant("p1", connection_id="new-connection", display_name="Again")
        await join(storage, "room-1", again, now=T0 + 1)
        participants = (await live(storage, now=T0 + 1)).participants
        assert sorted(participants, key=lambda p: p.id) == [again, other]

    async def test_generation_changes_on_every_join(self, storage: Storage) -> None:
        await storage.create_room(make_room(), now=T0)
        seen = {(await live(storage)).generation}
        for pid in ("p1", "p2", "p1"):
            await join(storage, "room-1", make_participant(pid))
            seen.add((await live(storage)).generation)
        assert len(seen) == 4

    async def test_join_at_a_stale_generation_conflicts(self, storage: Storage) -> None:
        await storage.create_room(make_room(), now=T0)
        stale = (await live(storage)).generation
        await join(storage, "room-1", make_participant("p1"))
        before = await live(storage)
        with pytest.raises(JoinConflict):
            await storage.join_room(
                "room-1",
                make_participant("p2"),
                generation=stale,
                now=T0 + 5,
                room_expires_at=T0 + 10_000,
                media_session=("other-session", "other-key"),
            )
        assert await live(storage) == before

    async def test_a_join_decided_before_an_update_conflicts(self, storage: Storage) -> None:
        """An update may lower ``max_size``: a seat decided on the old one is refused."""
        await storage.create_room(make_room(), now=T0)
        before = (await live(storage)).generation
        await storage.update_room(
            "room-1", owner="owner-1", changes={"max_size": 2, "update_time": T0 + 1}, now=T0 + 1
        )
        assert (await live(storage)).generation != before
        with pytest.raises(JoinConflict):
            await storage.join_room(
                "room-1",
                make_participant("p1"),
                generation=before,
                now=T0 + 5,
                room_expires_at=T0 + 10_000,
            )

    async def test_join_touches_the_room_and_reports(self, storage: Storage) -> None:
        await open_session(storage, make_session(user_mac="mac-1"), targets={"rooms": "r1"})
        room = make_room(owner="mac-1")
        await storage.create_room(room, now=T0)
        change = await storage.join_room(
            "room-1",
            make_participant(now=T0 + 30),
            generation=(await live(storage)).generation,
            now=T0 + 30,
            room_expires_at=T0 + 100 * 3600,
        )
        assert change == RoomChange(owner="mac-1", version=T0 + 30, push_targets=("r1",))
        touched = dataclasses.replace(room, update_time=T0 + 30, expires_at=T0 + 100 * 3600)
        assert (await live(storage, now=T0 + 30)).room == touched

    async def test_join_stores_the_media_session(self, storage: Storage) -> None:
        room = make_room()
        await storage.create_room(room, now=T0)
        await storage.join_room(
            "room-1",
            make_participant(),
            generation=(await live(storage)).generation,
            now=T0,
            room_expires_at=room.expires_at,
            media_session=("session-2", "key-2"),
        )
        state = await live(storage)
        assert (state.room.session_id, state.room.api_key) == ("session-2", "key-2")
        await join(storage, "room-1", make_participant("p2"))
        assert (await live(storage)).room == dataclasses.replace(
            room, session_id="session-2", api_key="key-2"
        )

    async def test_join_unknown_room_is_not_found(self, storage: Storage) -> None:
        with pytest.raises(RoomNotFound):
            await storage.join_room(
                "room-unknown", make_participant(), generation=0, now=T0, room_expires_at=T0 + 9
            )

    async def test_participants_belong_to_their_room(self, storage: Storage) -> None:
        await storage.create_room(make_room("room-1"), now=T0)
        await storage.create_room(make_room("room-2"), now=T0)
        participant = make_participant()
        await join(storage, "room-1", participant)
        assert (await live(storage, "room-2")).participants == ()
        with pytest.raises(NotParticipant):
            await storage.leave_room("room-2", participant.id, now=T0, room_expires_at=T0 + 9)

    @examples
    @given(
        display_name=st.text(), account=st.none() | st.text(), client_max_size=st.integers(1, 99)
    )
    async def test_any_display_name_round_trips(
        self, storage: Storage, display_name: str, account: str | None, client_max_size: int
    ) -> None:
        token = f"room-p{next(_tokens)}"
        await storage.create_room(make_room(token), now=T0)
        participant = make_participant(
            display_name=display_name, account=account, client_max_size=client_max_size
        )
        await join(storage, token, participant)
        assert (await live(storage, token)).participants == (participant,)


class PresenceContract:
    async def test_participant_is_visible_strictly_before_expires_at(
        self, storage: Storage
    ) -> None:
        await storage.create_room(make_room(), now=T0)
        await join(storage, "room-1", make_participant(ttl=300))
        assert len((await live(storage, now=T0 + 299.5)).participants) == 1
        assert (await live(storage, now=T0 + 300)).participants == ()

    async def test_refresh_extends_the_participant(self, storage: Storage) -> None:
        room = make_room()
        await storage.create_room(room, now=T0)
        await join(storage, "room-1", make_participant(ttl=300))
        await storage.refresh_participant(
            "room-1", "participant-1", now=T0 + 200, expires_at=T0 + 500.5
        )
        state = await live(storage, now=T0 + 500)
        assert [p.expires_at for p in state.participants] == [T0 + 500.5]
        assert state.room == room
        assert (await live(storage, now=T0 + 500.5)).participants == ()

    async def test_refresh_errors(self, storage: Storage) -> None:
        with pytest.raises(RoomNotFound):
            await storage.refresh_participant("room-1", "p1", now=T0, expires_at=T0 + 9)
        await storage.create_room(make_room(), now=T0)
        with pytest.raises(NotParticipant):
            await storage.refresh_participant("room-1", "p1", now=T0, expires_at=T0 + 9)

    async def test_refresh_does_not_revive_an_expired_participant(self, storage: Storage) -> None:
        await storage.create_room(make_room(), now=T0)
        await join(storage, "room-1", make_participant("p1", ttl=10))
        with pytest.raises(NotParticipant):
            await storage.refresh_participant("room-1", "p1", now=T0 + 10, expires_at=T0 + 99)
        assert (await live(storage, now=T0 + 11)).participants == ()

    async def test_expired_participant_can_join_again(self, storage: Storage) -> None:
        await storage.create_room(make_room(), now=T0)
        await join(storage, "room-1", make_participant("p1", ttl=10))
        again = make_participant("p1", now=T0 + 20, connection_id="second")
        await join(storage, "room-1", again, now=T0 + 20)
        assert (await live(storage, now=T0 + 20)).participants == (again,)

    async def test_leave_removes_the_participant_and_touches_the_room(
        self, storage: Storage
    ) -> None:
        await open_session(storage, make_session(user_mac="mac-1"), targets={"rooms": "r1"})
        room = make_room(owner="mac-1")
        await storage.create_room(room, now=T0)
        staying = make_participant("p2")
        await join(storage, "room-1", make_participant("p1"))
        await join(storage, "room-1", staying)
        change = await storage.leave_room("room-1", "p1", now=T0 + 40, room_expires_at=T0 + 999)
        assert change == RoomChange(owner="mac-1", version=T0 + 40, push_targets=("r1",))
        state = await live(storage, now=T0 + 40)
        assert state.participants == (staying,)
        assert state.room == dataclasses.replace(room, update_time=T0 + 40, expires_at=T0 + 999)

    async def test_leave_errors_change_nothing(self, storage: Storage) -> None:
        with pytest.raises(RoomNotFound):
            await storage.leave_room("room-1", "p1", now=T0, room_expires_at=T0 + 9)
        await storage.create_room(make_room(), now=T0)
        await join(storage, "room-1", make_participant("p1", ttl=10))
        before = await live(storage, now=T0 + 10)
        for pid in ("p1", "p2"):
            with pytest.raises(NotParticipant):
                await storage.leave_room("room-1", pid, now=T0 + 10, room_expires_at=T0 + 9999)
        assert await live(storage, now=T0 + 10) == before
