"""The Redis backend: every public method is one round trip and one command.

Conditional and multi-key work runs in Lua (:mod:`.scripts`) called by ``EVALSHA``; the
SHA1s are computed locally, so nothing has to be loaded at start-up, and a ``NOSCRIPT``
answer (after a restart or ``SCRIPT FLUSH``) is retried once with ``EVAL``, which also
caches the script again. The original Node server spent 16.8 commands per request; here a
request costs one command per storage call.

Redis Cluster: keys carry hash tags (``s:{device}``, ``r:{token}``, ``u:{user}:...``) so a
record and its satellites share a slot, but several scripts also reach keys they compute
(the owner's push devices, ``u:{owner}:rooms``, the global ``px`` reap index), which a
Cluster refuses across slots. Single-node and replicated setups are fully supported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError

from loop.storage import (
    JoinConflict,
    NonceReplayed,
    NotParticipant,
    NotRoomOwner,
    Participant,
    PushTarget,
    Room,
    RoomChange,
    RoomList,
    RoomNotFound,
    RoomState,
    Session,
    Storage,
    StorageError,
    Topic,
)
from loop.storage.redis import codec, scripts
from loop.storage.redis.accounts import RedisAccountStorage
from loop.storage.redis.calls import RedisCallStorage
from loop.storage.redis.codec import number
from loop.storage.redis.errors import DRIVER_ERRORS, wrap_redis_error
from loop.storage.redis.lane import Lane
from loop.storage.redis.signalling import RedisSignallingStorage
from loop.storage.redis.webpush import RedisWebPushStorage

"""What the driver raises when Redis is unreachable or refuses: ``OSError`` covers the
builtin ``ConnectionError`` and ``TimeoutError``."""

HEARTBEAT_TTL = 3600

_OUTCOMES: dict[str, type[StorageError]] = {
    "room": RoomNotFound,
    "owner": NotRoomOwner,
    "participant": NotParticipant,
    "conflict": JoinConflict,
    "replayed": NonceReplayed,
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


def _session_key(hawk_id_hmac: str) -> str:
    return f"s:{{{hawk_id_hmac}}}"


def _session_keys(hawk_id_hmac: str) -> list[str]:
    key = _session_key(hawk_id_hmac)
    return [key, f"{key}:n"]


def _user_key(user: str, what: str) -> str:
    return f"u:{{{user}}}:{what}"


def _room_keys(token: str) -> list[str]:
    key = f"r:{{{token}}}"
    return [key, f"{key}:p"]


def _participant_keys(token: str) -> list[str]:
    return [*_room_keys(token), "px"]


class RedisStorage(
    RedisCallStorage,
    RedisAccountStorage,
    RedisWebPushStorage,
    RedisSignallingStorage,
    Storage,
):
    """:class:`Storage` on one Redis database shared by every server process."""

    def __init__(self, client: redis.asyncio.Redis, lane: Lane) -> None:
        super().__init__()
        self._client = client
        """For the rare calls (ping, flush, the pub/sub hub)."""
        self._lane = lane
        """For every script call: the hot path."""

    async def _run(self, script: scripts.Script, keys: Sequence[str], *args: str) -> Any:
        """One ``EVALSHA`` (``args[0]`` is always ``now``), or ``EVAL`` if the script
        cache was flushed; ``stats`` count what really went over the wire."""
        self._count()
        try:
            return await self._lane.execute("EVALSHA", script.sha, len(keys), *keys, *args)
        except NoScriptError:
            self._count()
            return await self._lane.execute("EVAL", script.source, len(keys), *keys, *args)

    def _count(self) -> None:
        self.stats.round_trips += 1
        self.stats.commands += 1

    # -- lifecycle -------------------------------------------------------------------------

    @wrap_redis_error
    async def close(self) -> None:
        await self._close_call_hub()
        await self._close_signal_hub()
        await self._lane.close()
        await self._client.aclose(close_connection_pool=True)

    async def ping(self, *, now: float) -> bool:
        self._count()
        try:
            await self._client.set("heartbeat", number(now), ex=HEARTBEAT_TTL)
        except DRIVER_ERRORS:
            return False
        return True

    @wrap_redis_error
    async def flush(self) -> None:
        self._count()
        await self._client.flushdb()

    @wrap_redis_error
    async def ensure_secrets(self, candidates: Mapping[str, str]) -> dict[str, str]:
        if not candidates:
            return {}
        args = [item for pair in candidates.items() for item in pair]
        values = await self._run(scripts.ENSURE_SECRETS, ["secrets"], "0", *args)
        return dict(zip(candidates, values, strict=True))

    # -- Hawk sessions ---------------------------------------------------------------------

    @wrap_redis_error
    async def create_session(self, session: Session, *, now: float, ttl: float) -> None:
        fields = codec.session_fields(session, now + ttl)
        await self._run(
            scripts.CREATE_SESSION, _session_keys(session.hawk_id_hmac), number(now), *fields
        )

    @wrap_redis_error
    async def authenticate(
        self, hawk_id_hmac: str, *, nonce: str, now: float, ttl: float, nonce_ttl: float
    ) -> Session | None:
        reply = await self._run(
            scripts.AUTHENTICATE,
            _session_keys(hawk_id_hmac),
            number(now),
            nonce,
            number(now + ttl),
            number(now + nonce_ttl),
        )
        if reply is None:
            return None
        return codec.session_from_reply(hawk_id_hmac, _outcome(reply))

    @wrap_redis_error
    async def bind_identity(
        self, hawk_id_hmac: str, *, user_mac: str, encrypted_identity: str, now: float, ttl: float
    ) -> None:
        await self._run(
            scripts.BIND_IDENTITY,
            [_session_key(hawk_id_hmac)],
            number(now),
            number(now + ttl),
            user_mac,
            encrypted_identity,
        )

    @wrap_redis_error
    async def delete_session(self, hawk_id_hmac: str) -> None:
        await self._run(scripts.DELETE_SESSION, _session_keys(hawk_id_hmac), "0", hawk_id_hmac)

    # -- push registrations ----------------------------------------------------------------

    @wrap_redis_error
    async def register_push(
        self, session: Session, targets: Mapping[Topic, PushTarget], *, now: float, ttl: float
    ) -> None:
        await self._run(
            scripts.REGISTER_PUSH,
            [_session_key(session.hawk_id_hmac), _user_key(session.user, "push")],
            number(now),
            session.hawk_id_hmac,
            session.user,
            number(now + ttl),
            *codec.target_fields(targets),
        )

    @wrap_redis_error
    async def unregister_push(self, session: Session) -> None:
        await self._run(
            scripts.UNREGISTER_PUSH,
            [_session_key(session.hawk_id_hmac), _user_key(session.user, "push")],
            "0",
            session.hawk_id_hmac,
            session.user,
        )

    @wrap_redis_error
    async def push_targets(self, user: str, topic: Topic, *, now: float) -> list[PushTarget]:
        texts = await self._run(
            scripts.PUSH_TARGETS, [_user_key(user, "push")], number(now), user, topic
        )
        return list(codec.decode_targets(texts))

    # -- rooms -----------------------------------------------------------------------------

    @wrap_redis_error
    async def create_room(self, room: Room, *, now: float) -> RoomChange:
        texts = await self._run(
            scripts.CREATE_ROOM,
            _room_keys(room.token),
            number(now),
            room.token,
            room.owner,
            number(room.update_time),
            number(room.expires_at),
            *codec.all_room_fields(room),
        )
        return RoomChange(room.owner, room.creation_time, codec.decode_targets(texts))

    @wrap_redis_error
    async def get_room(self, token: str, *, now: float) -> RoomState | None:
        reply = await self._run(scripts.GET_ROOM, _room_keys(token), number(now))
        return codec.decode_state(reply, now)

    @wrap_redis_error
    async def update_room(
        self, token: str, *, owner: str, changes: Mapping[str, Any], now: float
    ) -> tuple[Room, RoomChange]:
        update_time = int(changes["update_time"])
        reply = await self._run(
            scripts.UPDATE_ROOM,
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
        self, token: str, *, owner: str, now: float, deleted_ttl: float
    ) -> RoomChange:
        _, change = await self._delete(
            [token], owner=owner, now=now, deleted_ttl=deleted_ttl, strict=True
        )
        return change

    @wrap_redis_error
    async def delete_rooms(
        self, tokens: Sequence[str], *, owner: str, now: float, deleted_ttl: float
    ) -> tuple[list[str], RoomChange]:
        return await self._delete(
            tokens, owner=owner, now=now, deleted_ttl=deleted_ttl, strict=False
        )

    async def _delete(
        self, tokens: Sequence[str], *, owner: str, now: float, deleted_ttl: float, strict: bool
    ) -> tuple[list[str], RoomChange]:
        reply = await self._run(
            scripts.DELETE_ROOMS,
            [_user_key(owner, "deleted"), _user_key(owner, "rooms")],
            number(now),
            owner,
            number(now + deleted_ttl),
            "1" if strict else "0",
            *tokens,
        )
        deleted, texts = _outcome(reply)
        return list(deleted), RoomChange(owner, int(now), codec.decode_targets(texts))

    @wrap_redis_error
    async def list_rooms(self, owner: str, *, since: int | None, now: float) -> RoomList:
        rooms, log = await self._run(
            scripts.LIST_ROOMS,
            [_user_key(owner, "rooms"), _user_key(owner, "deleted")],
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
    ) -> RoomChange:
        media = [codec.encode(value) for value in media_session or ()]
        reply = await self._run(
            scripts.JOIN_ROOM,
            _participant_keys(token),
            number(now),
            token,
            str(generation),
            participant.id,
            number(participant.expires_at),
            codec.participant_json(participant),
            str(int(now)),
            number(room_expires_at),
            *media,
        )
        return _touched(reply, now)

    @wrap_redis_error
    async def refresh_participant(
        self, token: str, participant_id: str, *, now: float, expires_at: float
    ) -> None:
        _outcome(
            await self._run(
                scripts.REFRESH_PARTICIPANT,
                _participant_keys(token),
                number(now),
                token,
                participant_id,
                number(expires_at),
            )
        )

    @wrap_redis_error
    async def leave_room(
        self, token: str, participant_id: str, *, now: float, room_expires_at: int
    ) -> RoomChange:
        reply = await self._run(
            scripts.LEAVE_ROOM,
            _participant_keys(token),
            number(now),
            token,
            participant_id,
            str(int(now)),
            number(room_expires_at),
        )
        return _touched(reply, now)

    @wrap_redis_error
    async def reap_participants(
        self, *, now: float, room_expires_at: int, limit: int = 500
    ) -> list[RoomChange]:
        reply = await self._run(
            scripts.REAP_PARTICIPANTS,
            ["px"],
            number(now),
            str(limit),
            str(int(now)),
            number(room_expires_at),
        )
        return [RoomChange(owner, int(now), codec.decode_targets(texts)) for owner, texts in reply]


POOL_SIZE = 64
"""Connections per process; a burst beyond it waits (``?timeout=``, default 5 s) for one."""


async def from_url(url: str) -> RedisStorage:
    """Open ``redis://``, ``rediss://`` or ``unix://`` URLs; query options such as
    ``?socket_timeout=2&max_connections=32`` override the defaults. Nothing is sent until
    the first call.

    The pool blocks rather than fails when all its connections are busy (redis-py's
    default pool raises ``Too many connections`` at 100 concurrent calls). No
    health-check ``PING`` (it would add a round trip after an idle spell). A refused or
    reset connection is retried once, which recovers a stale pooled socket; a timeout is
    never retried, since a script that did run would then apply twice (its nonce would
    look replayed)."""
    pool = redis.asyncio.BlockingConnectionPool.from_url(
        url,
        decode_responses=True,
        max_connections=POOL_SIZE,
        timeout=5,
        socket_connect_timeout=5,
        socket_timeout=5,
        retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
    )
    lane = Lane(lambda: pool.connection_class(**pool.connection_kwargs), POOL_SIZE)
    return RedisStorage(redis.asyncio.Redis(connection_pool=pool), lane)
