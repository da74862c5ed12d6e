"""The contract of :class:`~loop.storage.rooms.RoomStorage`, one module per theme: room
records (:mod:`.records`), deletion and its log (:mod:`.deletion`), listing
(:mod:`.listing`), participants (:mod:`.participants`), reaping (:mod:`.reaping`) and
expiry (:mod:`.expiry`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from loop.storage import Storage
from loop.storage.testing.factories import T0, make_participant, make_room
from loop.storage.testing.rooms.deletion import DeletionContract
from loop.storage.testing.rooms.expiry import ExpiryContract
from loop.storage.testing.rooms.listing import ListingContract
from loop.storage.testing.rooms.participants import JoinContract, PresenceContract
from loop.storage.testing.rooms.reaping import ReapContract
from loop.storage.testing.rooms.records import RoomRecordsContract


class ParticipantsContract(JoinContract, PresenceContract, ReapContract):
    """Joining, presence and reaping: the soft state of rooms."""


class RoomContract(
    RoomRecordsContract, DeletionContract, ListingContract, ParticipantsContract, ExpiryContract
):
    """Everything :class:`~loop.storage.rooms.RoomStorage` must do."""


FAULT_CALLS: dict[str, Callable[[Storage], Awaitable[Any]]] = {
    "create_room": lambda s: s.create_room(make_room(), now=T0),
    "get_room": lambda s: s.get_room("room-1", now=T0),
    "update_room": lambda s: s.update_room(
        "room-1", owner="owner-1", changes={"update_time": T0, "expires_at": T0 + 9}, now=T0
    ),
    "delete_room": lambda s: s.delete_room("room-1", owner="owner-1", now=T0, deleted_ttl=60),
    "delete_rooms": lambda s: s.delete_rooms(["room-1"], owner="owner-1", now=T0, deleted_ttl=60),
    "list_rooms": lambda s: s.list_rooms("owner-1", since=T0, now=T0),
    "join_room": lambda s: s.join_room(
        "room-1", make_participant(), generation=0, now=T0, room_expires_at=T0 + 9
    ),
    "refresh_participant": lambda s: s.refresh_participant(
        "room-1", "participant-1", now=T0, expires_at=T0 + 9
    ),
    "leave_room": lambda s: s.leave_room(
        "room-1", "participant-1", now=T0, room_expires_at=T0 + 9
    ),
    "reap_participants": lambda s: s.reap_participants(now=T0, room_expires_at=T0 + 9),
}
"""Every :class:`~loop.storage.rooms.RoomStorage` method, for the fault tests."""

__all__ = [
    "FAULT_CALLS",
    "DeletionContract",
    "ExpiryContract",
    "ListingContract",
    "ParticipantsContract",
    "ReapContract",
    "RoomContract",
    "RoomRecordsContract",
]
