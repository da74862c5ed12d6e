"""The cluster steps of the request path (:mod:`.clustered` explains the approach).

Each method here replaces one whose single-Redis script reads keys of several hash slots:
it runs the same script for the slot of its record (rate windows and the room cap left to
separate steps before it), or, where the whole script is a walk over an index of records
in other slots (listing rooms, calls, call URLs; deleting rooms; reaping), reads the index
on the user's slot and then each record on its own.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from typing import Any

from loop.storage.calls import Call, CallCreated, CallUrl
from loop.storage.quotas import RateLimit, TooManyRooms
from loop.storage.redis import codec, keys
from loop.storage.redis.calls import CREATE_CALL
from loop.storage.redis.cluster_base import ClusterBase
from loop.storage.redis.codec import number
from loop.storage.redis.errors import wrap_redis_error
from loop.storage.redis.rooms import GET_ROOM, _announcement_args, _outcome
from loop.storage.redis.scripts import load
from loop.storage.rooms import Participant, Room, RoomChange, RoomList
from loop.storage.sessions import PushTarget, Session, Topic
from loop.storage.signalling import Announcement

REAP_DUE = load("reap_due")
REAP_ROOM = load("reap_room")
DROP_OWNED_ROOM = load("drop_owned_room")
LOG_DELETED_ROOMS = load("log_deleted_rooms")
READ_CALL = load("read_call")


class ClusterRooms(ClusterBase):
    # -- limited creations: windows checked before, counted after --------------------------

    @wrap_redis_error
    async def create_session(
        self,
        session: Session,
        *,
        now: float,
        ttl: float,
        limits: Sequence[RateLimit] = (),
        push: Mapping[Topic, PushTarget] | None = None,
    ) -> None:
        await self._check_windows(limits, now)
        await super().create_session(session, now=now, ttl=ttl, push=push)
        await self._count_windows(limits, now)

    @wrap_redis_error
    async def create_room(
        self,
        room: Room,
        *,
        now: float,
        limits: Sequence[RateLimit] = (),
        max_rooms: int = 0,
    ) -> RoomChange:
        await self._check_windows(limits, now)
        if max_rooms > 0 and await self._owned_rooms(room.owner, max_rooms, now) >= max_rooms:
            raise TooManyRooms(room.owner)
        change = await super().create_room(room, now=now)
        await self._count_windows(limits, now)
        return change

    async def _owned_rooms(self, owner: str, cap: int, now: float) -> int:
        """The prelude's ``owned_rooms`` in steps: below ``cap`` index entries, 0 (the
        cap cannot be reached); otherwise the live rooms counted, the index pruned of
        rooms gone or reused by another owner."""
        index = keys.user(owner, "rooms")
        if int(await self._command("ZCARD", index)) < cap:
            return 0
        tokens = await self._command("ZRANGE", index, "0", "-1")
        rooms = await asyncio.gather(
            *(self._command("HMGET", keys.room(t), "owner", "expires_at") for t in tokens)
        )
        gone = [t for t, (o, _) in zip(tokens, rooms, strict=True) if o != owner]
        if gone:
            await self._command("ZREM", index, *gone)
        return sum(1 for o, e in rooms if o == owner and float(e) > now)

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
        await self._check_windows(limits, now)
        change = await super().join_room(
            token,
            participant,
            generation=generation,
            now=now,
            room_expires_at=room_expires_at,
            media_session=media_session,
        )
        await self._count_windows(limits, now)
        return change

    @wrap_redis_error
    async def create_call_url(
        self, url: CallUrl, *, now: float, limits: Sequence[RateLimit] = ()
    ) -> None:
        await self._check_windows(limits, now)
        await super().create_call_url(url, now=now)
        await self._count_windows(limits, now)

    @wrap_redis_error
    async def create_call(
        self,
        call: Call,
        *,
        callees: Sequence[str],
        reachable_only: bool,
        now: float,
        limits: Sequence[RateLimit] = (),
    ) -> CallCreated:
        """The callees' targets first (the script cannot read them), then the call filed
        under those chosen; the attempt counts even when no callee is reachable."""
        await self._check_windows(limits, now)
        chosen: list[str] = []
        found: list[str] = []
        users = list(dict.fromkeys(callees))
        per_user = await asyncio.gather(*(self._targets(user, "calls", now) for user in users))
        for user, listed in zip(users, per_user, strict=True):
            if listed or not reachable_only:
                chosen.append(user)
                found += [target for target in listed if target not in found]
        if chosen:
            record = json.dumps(call.to_json(), separators=(",", ":"))
            args = (call.call_id, str(call.timestamp), number(call.expires_at), record, "0")
            names = [keys.call(call.call_id), keys.markers(call.call_id)]
            await self._run(CREATE_CALL, names, number(now), *args, "", *chosen)
        await self._count_windows(limits, now)
        return CallCreated(tuple(chosen), tuple(json.loads(text) for text in found))

    # -- walks over an index ---------------------------------------------------------------

    @wrap_redis_error
    async def list_rooms(self, owner: str, *, since: int | None, now: float) -> RoomList:
        index = keys.user(owner, "rooms")
        low = "-inf" if since is None else number(since)
        tokens = await self._command("ZRANGEBYSCORE", index, low, "+inf")
        replies = await asyncio.gather(
            *(
                self._run(GET_ROOM, [keys.room(t), keys.participants(t)], number(now))
                for t in tokens
            )
        )
        owned = [_owned(fields, owner) for fields, _ in replies]
        gone = [token for token, mine in zip(tokens, owned, strict=True) if not mine]
        if gone:
            await self._command("ZREM", index, *gone)
        states = [
            codec.decode_state(r, now) for r, mine in zip(replies, owned, strict=True) if mine
        ]
        live = sorted(
            (state for state in states if state is not None),
            key=lambda state: (state.room.update_time, state.room.token),
        )
        if since is None:
            return RoomList(tuple(live), ())
        log = await self._command("HGETALL", keys.user(owner, "deleted"))
        flat = log if isinstance(log, list) else [x for pair in log.items() for x in pair]
        return RoomList(tuple(live), codec.decode_log(flat, since, now))

    async def _delete(
        self,
        rooms: Sequence[tuple[str, Announcement | None]],
        *,
        owner: str,
        now: float,
        deleted_ttl: float,
        strict: bool,
    ) -> tuple[list[str], RoomChange]:
        """Each room dropped on its own slot, then the owner's index and deletion log."""
        mode = "strict" if strict else "live"
        outcomes = await asyncio.gather(
            *(self._drop_room(token, owner, mode, note, now) for token, note in rooms)
        )
        deleted = [token for (token, _), outcome in zip(rooms, outcomes, strict=True) if outcome]
        if deleted:
            names = [keys.user(owner, "deleted"), keys.user(owner, "rooms")]
            until = number(now + deleted_ttl)
            await self._run(LOG_DELETED_ROOMS, names, number(now), until, *deleted)
        targets = await self._targets(owner, "rooms", now)
        return deleted, RoomChange(owner, int(now), codec.decode_targets(targets))

    async def _drop_room(
        self, token: str, owner: str, mode: str, note: Announcement | None, now: float
    ) -> bool:
        names = [keys.room(token), keys.participants(token)]
        announcement = _announcement_args(note)
        outcome = await self._run(DROP_OWNED_ROOM, names, number(now), owner, mode, *announcement)
        return bool(_outcome(outcome) == "dropped")

    @wrap_redis_error
    async def reap_participants(
        self, *, now: float, room_expires_at: int, limit: int = 500
    ) -> list[RoomChange]:
        """Bucket by bucket until ``limit`` entries were taken, then each room touched."""
        due: dict[str, list[str]] = {}
        left = limit
        for bucket in keys.REAP_BUCKETS:
            if left <= 0:
                break
            members = await self._run(REAP_DUE, [bucket], number(now), str(left))
            left -= len(members)
            for member in members:
                token, _, pid = member.partition(" ")
                due.setdefault(token, []).append(pid)
        replies = await asyncio.gather(
            *(
                self._run(
                    REAP_ROOM,
                    [keys.room(token), keys.participants(token)],
                    number(now),
                    str(int(now)),
                    number(room_expires_at),
                    *pids,
                )
                for token, pids in due.items()
            )
        )
        return [
            RoomChange(owner, int(now), codec.decode_targets(texts))
            for owner, texts in (reply for reply in replies if reply is not None)
        ]

    @wrap_redis_error
    async def push_targets(self, user: str, topic: Topic, *, now: float) -> list[PushTarget]:
        return list(codec.decode_targets(await self._targets(user, topic, now)))

    @wrap_redis_error
    async def list_call_urls(self, user: str, *, now: float) -> list[CallUrl]:
        index = keys.user(user, "urls")
        tokens = await self._command("ZRANGE", index, "0", "-1")
        urls = await asyncio.gather(
            *(self._command("HMGET", keys.call_url(t), "u", "e", "d") for t in tokens)
        )
        gone = [t for t, (owner, _, _) in zip(tokens, urls, strict=True) if owner != user]
        if gone:
            await self._command("ZREM", index, *gone)
        live = [d for owner, e, d in urls if owner == user and float(e) > now]
        return [CallUrl(**json.loads(text)) for text in live]

    @wrap_redis_error
    async def list_calls(self, user: str, *, since: int, now: float) -> list[Call]:
        index = keys.user(user, "calls")
        ids = await self._command("ZRANGEBYSCORE", index, str(since), "+inf")
        calls = await asyncio.gather(
            *(self._run(READ_CALL, [keys.call(i), keys.markers(i)], number(now)) for i in ids)
        )
        gone = [i for i, (expiry, _, _) in zip(ids, calls, strict=True) if expiry is None]
        if gone:
            await self._command("ZREM", index, *gone)
        live = [
            Call.from_json(json.loads(text))
            for expiry, text, markers in calls
            if expiry is not None and float(expiry) > now and int(markers) > 0
        ]
        return sorted(live, key=lambda call: (call.timestamp, call.call_id))


def _owned(fields: Any, owner: str) -> bool:
    """Whether a room's flat ``HGETALL`` names ``owner`` (kept raw, unlike other fields)."""
    flat = list(fields)
    pairs = dict(zip(flat[::2], flat[1::2], strict=True))
    return pairs.get("owner") == owner
