"""The Redis side of :class:`loop.storage.rooms.RoomStorage`.

A mixin of :class:`loop.storage.redis.RedisStorage`: it uses the backend's plumbing
(``_run`` for one EVALSHA per call); its scripts are ``lua/<method>.lua``. Conditional
scripts answer a bare status string (``'room'``, ``'owner'``...) when nothing was changed,
which :func:`_outcome` raises as the interface's exception.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from loop.storage.errors import StorageError
from loop.storage.quotas import RateLimit, TooManyRooms
from loop.storage.redis import codec, keys
from loop.storage.redis.codec import number
from loop.storage.redis.errors import wrap_redis_error
from loop.storage.redis.plumbing import RedisPlumbing
from loop.storage.redis.quotas import check, window_keys, window_spec
from loop.storage.redis.scripts import load
from loop.storage.rooms import (
    JoinConflict,
    NotParticipant,
    NotRoomOwner,
    Participant,
    Room,
    RoomChange,
    RoomList,
    RoomNotFound,
    RoomState,
)
from loop.storage.signalling import Announcement

CREATE_ROOM = load("create_room")
GET_ROOM = load("get_room")
UPDATE_ROOM = load("update_room")
DELETE_ROOMS = load("delete_rooms")
LIST_ROOMS = load("list_rooms")
JOIN_ROOM = load("join_room")
REFRESH_PARTICIPANT = load("refresh_participant")
LEAVE_ROOM = load("leave_room")
REAP_PARTICIPANTS = load("reap_participants")

_OUTCOMES: dict[str, type[StorageError]] = {
    "room": RoomNotFound,
    "owner": NotRoomOwner,
    "participant": NotParticipant,
    "conflict": JoinConflict,
}


def _outcome(reply: Any) -> Any:
    """Raise the domain exception a script answered with a bare status string."""
    if isinstance(reply, str) and reply in _OUTCOMES:
        raise _OUTCOMES[reply]()
    return reply


def _touched(reply: Any, now: float) -> RoomChange:
    """The change a join or leave reports once the script touched the room at ``now``."""
    owner, texts = _outcome(reply)
    return RoomChange(owner, int(now), codec.decode_targets(texts))


def _room_keys(token: str) -> list[str]:
    return [keys.room(token), keys.participants(token)]


def _participant_keys(token: str) -> list[str]:
    return [*_room_keys(token), keys.PARTICIPANT_EXPIRY]


class RedisRoomStorage(RedisPlumbing):
    # -- rooms -----------------------------------------------------------------------------

    @wrap_redis_error
    async def create_room(
        self,
        room: Room,
        *,
        now: float,
        limits: Sequence[RateLimit] = (),
        max_rooms: int = 0,
    ) -> RoomChange:
        texts = await self._run(
            CREATE_ROOM,
            [*_room_keys(room.token), *window_keys(limits)],
            number(now),
            room.token,
            room.owner,
            number(room.update_time),
            number(room.expires_at),
            str(max_rooms),
            window_spec(limits),
            *codec.all_room_fields(room),
        )
        if check(texts) == "cap":
            raise TooManyRooms(room.owner)
        return RoomChange(room.owner, room.creation_time, codec.decode_targets(texts))

    @wrap_redis_error
    async def get_room(self, token: str, *, now: float) -> RoomState | None:
        reply = await self._run(GET_ROOM, _room_keys(token), number(now))
        return codec.decode_state(reply, now)

    @wrap_redis_error
    async def update_room(
        self, token: str, *, owner: str, changes: Mapping[str, Any], now: float
    ) -> tuple[Room, RoomChange]:
        update_time = int(changes["update_time"])
        reply = await self._run(
            UPDATE_ROOM,
            _room_keys(token),
            number(now),
            token,
            owner,
            number(update_time),
            number(changes["expires_at"]) if "expires_at" in changes else "",
            *codec.room_changes(changes),
        )
        room_flat, texts = _outcome(reply)
        room, _ = codec.decode_room(room_flat)
        return room, RoomChange(owner, update_time, codec.decode_targets(texts))

    @wrap_redis_error
    async def delete_room(
        self,
        token: str,
        *,
        owner: str,
        now: float,
        deleted_ttl: float,
        announce: Announcement | None = None,
    ) -> RoomChange:
        _, change = await self._delete(
            [(token, announce)], owner=owner, now=now, deleted_ttl=deleted_ttl, strict=True
        )
        return change

    @wrap_redis_error
    async def delete_rooms(
        self,
        tokens: Sequence[str],
        *,
        owner: str,
        now: float,
        deleted_ttl: float,
        announce: Callable[[str], Announcement] | None = None,
    ) -> tuple[list[str], RoomChange]:
        rooms = [(token, announce(token) if announce else None) for token in tokens]
        return await self._delete(
            rooms, owner=owner, now=now, deleted_ttl=deleted_ttl, strict=False
        )

    async def _delete(
        self,
        rooms: Sequence[tuple[str, Announcement | None]],
        *,
        owner: str,
        now: float,
        deleted_ttl: float,
        strict: bool,
    ) -> tuple[list[str], RoomChange]:
        """ARGV from the fifth on: each token, then its announcement's pub/sub channel and
        message (empty strings: none)."""
        per_room = [arg for token, note in rooms for arg in (token, *_announcement_args(note))]
        reply = await self._run(
            DELETE_ROOMS,
            [keys.user(owner, "deleted"), keys.user(owner, "rooms")],
            number(now),
            owner,
            number(now + deleted_ttl),
            "1" if strict else "0",
            *per_room,
        )
        deleted, texts = _outcome(reply)
        return list(deleted), RoomChange(owner, int(now), codec.decode_targets(texts))

    @wrap_redis_error
    async def list_rooms(self, owner: str, *, since: int | None, now: float) -> RoomList:
        rooms, log = await self._run(
            LIST_ROOMS,
            [keys.user(owner, "rooms"), keys.user(owner, "deleted")],
            number(now),
            owner,
            "-inf" if since is None else number(since),
            "0" if since is None else "1",
        )
        states = [codec.decode_state(reply, now) for reply in rooms]
        live = sorted(
            (state for state in states if state is not None),
            key=lambda state: (state.room.update_time, state.room.token),
        )
        deleted = codec.decode_log(log, since, now) if since is not None else ()
        return RoomList(tuple(live), deleted)

    # -- participants ----------------------------------------------------------------------

    @wrap_redis_error
    async def join_room(
        self,
        token: str,
        participant: Participant,
        *,
        generation: int,
        now: float,
        room_expires_at: int,
        media_session: tuple[str, str] | None = None,
        limits: Sequence[RateLimit] = (),
    ) -> RoomChange:
        media = [codec.encode(value) for value in media_session or ()]
        reply = await self._run(
            JOIN_ROOM,
            [*_participant_keys(token), *window_keys(limits)],
            number(now),
            token,
            str(generation),
            participant.id,
            number(participant.expires_at),
            codec.participant_json(participant),
            str(int(now)),
            number(room_expires_at),
            window_spec(limits),
            *media,
        )
        return _touched(check(reply), now)

    @wrap_redis_error
    async def refresh_participant(
        self, token: str, participant_id: str, *, now: float, expires_at: float
    ) -> None:
        _outcome(
            await self._run(
                REFRESH_PARTICIPANT,
                _participant_keys(token),
                number(now),
                token,
                participant_id,
                number(expires_at),
            )
        )

    @wrap_redis_error
    async def leave_room(
        self,
        token: str,
        participant_id: str,
        *,
        now: float,
        room_expires_at: int,
        announce: Announcement | None = None,
    ) -> RoomChange:
        reply = await self._run(
            LEAVE_ROOM,
            _participant_keys(token),
            number(now),
            token,
            participant_id,
            str(int(now)),
            number(room_expires_at),
            *_announcement_args(announce),
        )
        return _touched(reply, now)

    @wrap_redis_error
    async def reap_participants(
        self, *, now: float, room_expires_at: int, limit: int = 500
    ) -> list[RoomChange]:
        reply = await self._run(
            REAP_PARTICIPANTS,
            [keys.PARTICIPANT_EXPIRY],
            number(now),
            str(limit),
            str(int(now)),
            number(room_expires_at),
        )
        return [RoomChange(owner, int(now), codec.decode_targets(texts)) for owner, texts in reply]


def _announcement_args(announce: Announcement | None) -> tuple[str, str]:
    """The pub/sub channel and message a script publishes once its change is made."""
    if announce is None:
        return "", ""
    return keys.signal_channel(announce.channel), announce.message
