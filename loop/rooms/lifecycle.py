"""Creating, updating, deleting and listing rooms (loop-api.md §4.12, §5.6-5.7, D9, D11).

Each mutation is one storage call that also returns the owner's push targets, so the
owner's devices are notified (fire-and-forget) without another read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from loop import errors, quotas
from loop.callers import HawkCaller
from loop.crypto import random_token
from loop.rooms.validation import RoomParams
from loop.rooms.views import full_view
from loop.services import RoomServices
from loop.signalling import events as signalling
from loop.storage import NotRoomOwner, Room, RoomChange, RoomNotFound, RoomState

Event = Literal["creation", "modification", "deletion", "join", "leave"]
HOUR = 3600


def notify_owner(services: RoomServices, change: RoomChange, event: Event) -> None:
    """Tell every device of the owner to sync (``GET /rooms?version=<version>``)."""
    services.push.notify(
        change.push_targets,
        topic="rooms",
        version=change.version,
        reason=f"rooms.notifyowner.{event}",
        user=change.owner,
    )


async def live(services: RoomServices, token: str) -> RoomState:
    """The room with its live participants; 404 errno 105 when it is gone or expired."""
    state = await services.storage.get_room(token, now=services.clock.now())
    if state is None:
        services.storage.recent_rooms.forget(token)
        raise errors.token_not_found()
    services.storage.recent_rooms.remember(state)
    return state


async def create(
    services: RoomServices, caller: HawkCaller, params: RoomParams, channel: str
) -> Room:
    """A new room owned by the caller's user, with its own media session; 429 errno 117
    past a room-creation limit, 403 errno 999 past ``limits.max_rooms_per_user`` (D32)."""
    settings = services.settings.rooms
    media = await services.media.create_session(channel)
    now = services.clock.now()
    created = int(now)
    expires_in = params.expires_in if params.expires_in is not None else settings.default_ttl
    room = Room(
        token=random_token(settings.token_size),
        owner=caller.session.user,
        room_owner=params.room_owner or "",
        max_size=params.max_size or settings.max_size,
        expires_in=expires_in,
        creation_time=created,
        update_time=created,
        expires_at=created + expires_in * HOUR,
        channel=channel,
        session_id=media.session_id,
        api_key=media.api_key,
        room_name=params.room_name,
        context=params.context,
    )
    with quotas.answered():
        change = await services.storage.create_room(
            room,
            now=now,
            limits=quotas.room_creation(services.settings, caller.session),
            max_rooms=services.settings.limits.max_rooms_per_user,
        )
    services.storage.recent_rooms.remember(RoomState(room, (), 0))
    notify_owner(services, change, "creation")
    return room


def check_owner(caller: HawkCaller, room: Room) -> None:
    if caller.session.user != room.owner:
        raise errors.not_room_owner()


async def update(
    services: RoomServices, caller: HawkCaller, state: RoomState, params: RoomParams
) -> Room:
    """Apply what the body carried; without ``expiresIn`` the expiry is kept (D9)."""
    now = services.clock.now()
    changes: dict[str, Any] = {"update_time": int(now)}
    if params.expires_in is not None:
        changes["expires_in"] = params.expires_in
        changes["expires_at"] = int(now) + params.expires_in * HOUR
    for field in ("room_name", "room_owner", "max_size", "context"):
        value = getattr(params, field)
        if value is not None:
            changes[field] = value
    services.storage.recent_rooms.forget(state.room.token)
    try:
        room, change = await services.storage.update_room(
            state.room.token, owner=caller.session.user, changes=changes, now=now
        )
    except RoomNotFound:
        raise errors.token_not_found() from None
    except NotRoomOwner:
        raise errors.not_room_owner() from None
    notify_owner(services, change, "modification")
    return room


async def delete(services: RoomServices, caller: HawkCaller, token: str) -> None:
    """404/105 when no such room, then 403/999 when the caller's user does not own it."""
    services.storage.recent_rooms.forget(token)
    try:
        change = await services.storage.delete_room(
            token,
            owner=caller.session.user,
            now=services.clock.now(),
            deleted_ttl=services.settings.rooms.deleted_ttl,
            announce=signalling.room_ended(token) if services.media.signalling else None,
        )
    except RoomNotFound:
        raise errors.token_not_found() from None
    except NotRoomOwner:
        raise errors.not_room_owner() from None
    notify_owner(services, change, "deletion")


async def delete_many(
    services: RoomServices, caller: HawkCaller, tokens: Sequence[str]
) -> list[str]:
    """Delete those of ``tokens`` the caller owns; the owner hears of it only if any (D11)."""
    for token in tokens:
        services.storage.recent_rooms.forget(token)
    deleted, change = await services.storage.delete_rooms(
        tokens,
        owner=caller.session.user,
        now=services.clock.now(),
        deleted_ttl=services.settings.rooms.deleted_ttl,
        announce=signalling.room_ended if services.media.signalling else None,
    )
    if deleted:
        notify_owner(services, change, "deletion")
    return deleted


async def listing(
    services: RoomServices, caller: HawkCaller, since: int | None
) -> list[dict[str, Any]]:
    """The user's rooms (full views, oldest change first), then tombstones of rooms
    deleted since ``since``: the only way other devices learn of a deletion."""
    rooms = await services.storage.list_rooms(
        caller.session.user, since=since, now=services.clock.now()
    )
    settings = services.settings.rooms
    views = [full_view(state, settings) for state in rooms.rooms]
    views.extend({"roomToken": token, "deleted": True} for token in rooms.deleted)
    return views
