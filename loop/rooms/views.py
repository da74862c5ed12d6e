"""What clients see of a room: the public view (§4.12) and the full view (§5.5, D2)."""

from __future__ import annotations

import functools
from typing import Any

from loop.config import RoomsSettings
from loop.crypto import decrypt, room_account_key
from loop.rooms.capacity import room_client_max_size
from loop.storage import Participant, Room, RoomState


def room_url(settings: RoomsSettings, token: str) -> str:
    """``rooms.web_app_url`` with the token in: the link-clicker page, no fragment."""
    return settings.web_app_url.replace("{token}", token)


@functools.lru_cache(maxsize=4096)
def account_key(token: str, hkdf_salt: str) -> bytes:
    """The room's key for participants' identities; cached because every listing of a
    room with registered participants would otherwise run HKDF again."""
    return room_account_key(token, hkdf_salt)


def public_view(room: Room, settings: RoomsSettings) -> dict[str, Any]:
    """For link-clickers and non-members (D10): nothing about who is in the room."""
    view: dict[str, Any] = {"roomToken": room.token}
    if room.room_name is not None:
        view["roomName"] = room.room_name
    view["context"] = room.context
    view["roomOwner"] = room.room_owner
    view["roomUrl"] = room_url(settings, room.token)
    return view


def full_view(state: RoomState, settings: RoomsSettings) -> dict[str, Any]:
    """For the owner and participants, and each item of ``GET /rooms``. Carries the
    draft's names too (D2); never a user key or device id."""
    room = state.room
    view: dict[str, Any] = {"roomToken": room.token, "roomUrl": room_url(settings, room.token)}
    if room.room_name is not None:
        view["roomName"] = room.room_name
    view.update(
        context=room.context,
        roomOwner=room.room_owner,
        maxSize=room.max_size,
        clientMaxSize=room_client_max_size(room.max_size, state.participants),
        creationTime=room.creation_time,
        expiresAt=room.expires_at,
        ctime=room.update_time,
        participants=[_participant(p, room, settings) for p in state.participants],
        urlCreationDate=room.creation_time,
        lastUsed=room.update_time,
        currSize=len(state.participants),
    )
    return view


def _participant(participant: Participant, room: Room, settings: RoomsSettings) -> dict[str, Any]:
    view: dict[str, Any] = {
        "roomConnectionId": participant.connection_id,
        "displayName": participant.display_name,
    }
    if participant.account is not None:
        account = decrypt(account_key(room.token, settings.hkdf_salt), participant.account)
        if account is not None:
            view["account"] = account
    view["owner"] = participant.user is not None and participant.user == room.owner
    view["id"] = participant.connection_id
    return view
