"""Rooms: create, read, update, and the owner notification every mutation reports
(loop-api.md §4.12, §5.1, §5.6)."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loop.storage import NotRoomOwner, RoomChange, RoomNotFound, Storage
from loop.storage.testing.factories import (
    HOUR,
    T0,
    examples,
    join,
    make_participant,
    make_room,
    make_session,
    open_session,
)

_tokens = itertools.count()

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=12,
)
contexts = st.dictionaries(st.text(), json_values, max_size=6)

TRICKY_CONTEXT: dict[str, Any] = {
    "value": 'line one\r\nline two\n\ttab "quoted" \\ back\u2028slash',
    "alg": "AES-GCM",
    "wrappedKey": "clé ✓ 日本語 🎉",
    "nested": {"list": [1, 2.5, None, True, "x"], "empty": {}, "\u00e9": "\u0000nul"},
}


def fresh_token() -> str:
    """Hypothesis reuses the storage across examples, so each example needs its own room."""
    return f"room-h{next(_tokens)}"


class RoomRecordsContract:
    async def test_unknown_room_is_none(self, storage: Storage) -> None:
        assert await storage.get_room("room-unknown", now=T0) is None

    async def test_created_room_is_read_back_without_participants(self, storage: Storage) -> None:
        room = make_room()
        await storage.create_room(room, now=T0)
        state = await storage.get_room(room.token, now=T0)
        assert state is not None
        assert state.room == room
        assert state.participants == ()
        assert isinstance(state.generation, int)

    async def test_optional_room_fields_round_trip(self, storage: Storage) -> None:
        named = make_room("room-named", room_name="Le café ✓", context=None)
        await storage.create_room(named, now=T0)
        state = await storage.get_room(named.token, now=T0)
        assert state is not None and state.room == named

    async def test_create_reports_the_owner_rooms_targets(self, storage: Storage) -> None:
        await open_session(
            storage, make_session("a", user_mac="mac-1"), targets={"calls": "c", "rooms": "r1"}
        )
        await open_session(storage, make_session("b", user_mac="mac-1"), targets={"rooms": "r1"})
        change = await storage.create_room(make_room(owner="mac-1"), now=T0)
        assert change == RoomChange(owner="mac-1", version=T0, push_targets=("r1",))

    async def test_create_without_targets_reports_none(self, storage: Storage) -> None:
        change = await storage.create_room(make_room(owner="mac-1", now=T0 + 5), now=T0 + 5)
        assert change == RoomChange(owner="mac-1", version=T0 + 5, push_targets=())

    async def test_context_round_trips_verbatim(self, storage: Storage) -> None:
        room = make_room(context=TRICKY_CONTEXT)
        await storage.create_room(room, now=T0)
        state = await storage.get_room(room.token, now=T0)
        assert state is not None and state.room.context == TRICKY_CONTEXT
        assert state.room.context["value"] == TRICKY_CONTEXT["value"]

    @examples
    @given(context=contexts, room_owner=st.text(), room_name=st.none() | st.text())
    async def test_any_json_context_round_trips(
        self, storage: Storage, context: dict[str, Any], room_owner: str, room_name: str | None
    ) -> None:
        room = make_room(
            fresh_token(), context=context, room_owner=room_owner, room_name=room_name
        )
        await storage.create_room(room, now=T0)
        state = await storage.get_room(room.token, now=T0)
        assert state is not None and state.room == room

    async def test_update_applies_every_change(self, storage: Storage) -> None:
        room = make_room()
        await storage.create_room(room, now=T0)
        changes: dict[str, Any] = {
            "room_name": "Renamed",
            "room_owner": "Bob",
            "max_size": 3,
            "expires_in": 2,
            "update_time": T0 + 10,
            "expires_at": T0 + 10 + 2 * HOUR,
            "context": TRICKY_CONTEXT,
        }
        updated, _ = await storage.update_room(
            room.token, owner=room.owner, changes=changes, now=T0 + 10
        )
        assert updated == dataclasses.replace(room, **changes)
        state = await storage.get_room(room.token, now=T0 + 10)
        assert state is not None and state.room == updated

    async def test_update_keeps_fields_not_given(self, storage: Storage) -> None:
        room = make_room(room_name="Kept")
        await storage.create_room(room, now=T0)
        changes = {"update_time": T0 + 1, "expires_at": room.expires_at}
        updated, _ = await storage.update_room(
            room.token, owner=room.owner, changes=changes, now=T0 + 1
        )
        assert updated == dataclasses.replace(room, update_time=T0 + 1)

    async def test_update_without_expiry_keeps_the_current_one(self, storage: Storage) -> None:
        """D9: a PATCH without ``expiresIn`` keeps the expiry, including one a join set
        after the caller read the room."""
        room = make_room()
        await storage.create_room(room, now=T0)
        await join(storage, room.token, make_participant(), now=T0 + 1, room_expires_at=T0 + 900)
        updated, _ = await storage.update_room(
            room.token, owner=room.owner, changes={"update_time": T0 + 2}, now=T0 + 2
        )
        assert updated.expires_at == T0 + 900
        assert await storage.get_room(room.token, now=T0 + 899) is not None
        assert await storage.get_room(room.token, now=T0 + 900) is None

    async def test_update_can_clear_the_context(self, storage: Storage) -> None:
        room = make_room()
        await storage.create_room(room, now=T0)
        changes = {"update_time": T0 + 1, "expires_at": room.expires_at, "context": None}
        await storage.update_room(room.token, owner=room.owner, changes=changes, now=T0 + 1)
        state = await storage.get_room(room.token, now=T0 + 1)
        assert state is not None and state.room.context is None

    async def test_update_reports_the_change(self, storage: Storage) -> None:
        await open_session(storage, make_session(user_mac="mac-1"), targets={"rooms": "r1"})
        room = make_room(owner="mac-1")
        await storage.create_room(room, now=T0)
        changes = {"update_time": T0 + 7, "expires_at": room.expires_at}
        _, change = await storage.update_room(
            room.token, owner="mac-1", changes=changes, now=T0 + 7
        )
        assert change == RoomChange(owner="mac-1", version=T0 + 7, push_targets=("r1",))

    async def test_update_expiry_decides_visibility(self, storage: Storage) -> None:
        room = make_room()
        await storage.create_room(room, now=T0)
        changes = {"update_time": T0 + 1, "expires_at": T0 + 50}
        await storage.update_room(room.token, owner=room.owner, changes=changes, now=T0 + 1)
        assert await storage.get_room(room.token, now=T0 + 49) is not None
        assert await storage.get_room(room.token, now=T0 + 50) is None

    async def test_update_unknown_room_is_not_found(self, storage: Storage) -> None:
        changes = {"update_time": T0, "expires_at": T0 + HOUR}
        with pytest.raises(RoomNotFound):
            await storage.update_room("room-unknown", owner="owner-1", changes=changes, now=T0)

    async def test_not_found_wins_over_not_owner(self, storage: Storage) -> None:
        changes = {"update_time": T0, "expires_at": T0 + HOUR}
        with pytest.raises(RoomNotFound):
            await storage.update_room("room-unknown", owner="intruder", changes=changes, now=T0)

    async def test_update_by_another_user_changes_nothing(self, storage: Storage) -> None:
        room = make_room()
        await storage.create_room(room, now=T0)
        changes = {"update_time": T0 + 1, "expires_at": T0 + 2, "room_name": "Hijacked"}
        with pytest.raises(NotRoomOwner):
            await storage.update_room(room.token, owner="intruder", changes=changes, now=T0 + 1)
        state = await storage.get_room(room.token, now=T0 + 3)
        assert state is not None and state.room == room
