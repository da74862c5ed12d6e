"""Contract of :mod:`loop.storage.quotas`, run against every backend: rate windows checked
and counted by the operations that create things (D12, D32), and the cap on rooms."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import pytest

from loop.storage import JoinConflict, PushTarget, RoomNotFound, Storage, Topic
from loop.storage.quotas import RateLimit, RateLimited, TooManyRooms
from loop.storage.testing.calls import make_call, make_url
from loop.storage.testing.factories import (
    DELETED_TTL,
    HOUR,
    T0,
    make_participant,
    make_room,
    make_session,
)
from loop.storage.testing.sessions import auth

WINDOW = RateLimit(key="action:s:subject", limit=2, period=60)

Create = Callable[[Storage, int, float, Sequence[RateLimit]], Awaitable[Any]]
"""Creates the ``n``-th thing of its kind at ``now`` under those windows."""


async def _session(storage: Storage, n: int, now: float, limits: Sequence[RateLimit]) -> Any:
    await storage.create_session(make_session(f"d{n}"), now=now, ttl=HOUR, limits=limits)


async def _session_with_push(
    storage: Storage, n: int, now: float, limits: Sequence[RateLimit]
) -> Any:
    session = make_session(f"d{n}")
    push: dict[Topic, PushTarget] = {"rooms": f"https://push/{n}"}
    await storage.create_session(session, now=now, ttl=HOUR, limits=limits, push=push)


async def _room(storage: Storage, n: int, now: float, limits: Sequence[RateLimit]) -> Any:
    await storage.create_room(make_room(f"room-{n}", now=int(now)), now=now, limits=limits)


async def _join(storage: Storage, n: int, now: float, limits: Sequence[RateLimit]) -> Any:
    state = await storage.get_room("joined", now=now)
    if state is None:
        await storage.create_room(make_room("joined", now=int(now)), now=now)
        state = await storage.get_room("joined", now=now)
    assert state is not None
    await storage.join_room(
        "joined",
        make_participant(f"p{n}", now=now),
        generation=state.generation,
        now=now,
        room_expires_at=int(now) + HOUR,
        limits=limits,
    )


async def _call_url(storage: Storage, n: int, now: float, limits: Sequence[RateLimit]) -> Any:
    await storage.create_call_url(make_url(f"url-{n}"), now=now, limits=limits)


async def _call(storage: Storage, n: int, now: float, limits: Sequence[RateLimit]) -> Any:
    call = make_call(f"call-{n}", timestamp=int(now))
    await storage.create_call(call, callees=["bob"], reachable_only=False, now=now, limits=limits)


CREATES: dict[str, Create] = {
    "create_session": _session,
    "create_session with push": _session_with_push,
    "create_room": _room,
    "join_room": _join,
    "create_call_url": _call_url,
    "create_call": _call,
}


async def _created(storage: Storage, kind: str, n: int, now: float) -> bool:
    """Whether the ``n``-th thing of ``kind`` exists at ``now``."""
    if kind == "create_session":
        return await auth(storage, f"hawk-d{n}", now=now) is not None
    if kind == "create_session with push":
        targets = await storage.push_targets(f"hawk-d{n}", "rooms", now=now)
        created = await auth(storage, f"hawk-d{n}", now=now) is not None
        assert targets == ([f"https://push/{n}"] if created else []), "stored with the session"
        return created
    if kind == "create_room":
        return await storage.get_room(f"room-{n}", now=now) is not None
    if kind == "join_room":
        state = await storage.get_room("joined", now=now)
        return state is not None and f"p{n}" in {p.id for p in state.participants}
    if kind == "create_call_url":
        return await storage.get_call_url(f"url-{n}", now=now) is not None
    return await storage.get_call(f"call-{n}", now=now) is not None


class RateWindowContract:
    @pytest.mark.parametrize("kind", sorted(CREATES))
    async def test_a_full_window_refuses_until_it_ends(self, storage: Storage, kind: str) -> None:
        create = CREATES[kind]
        await create(storage, 1, T0, [WINDOW])
        await create(storage, 2, T0 + 10, [WINDOW])
        with pytest.raises(RateLimited) as refused:
            await create(storage, 3, T0 + 15, [WINDOW])
        assert refused.value.retry_after == 45
        assert not await _created(storage, kind, 3, T0 + 15)
        with pytest.raises(RateLimited) as again:
            await create(storage, 3, T0 + 59.5, [WINDOW])
        assert again.value.retry_after == 1
        await create(storage, 3, T0 + 60, [WINDOW])
        assert await _created(storage, kind, 3, T0 + 60)

    @pytest.mark.parametrize("kind", sorted(CREATES))
    async def test_no_window_means_no_limit(self, storage: Storage, kind: str) -> None:
        for n in range(4):
            await CREATES[kind](storage, n, T0, ())

    async def test_windows_are_counted_per_key(self, storage: Storage) -> None:
        other = RateLimit("action:s:other", 2, 60)
        for n in range(2):
            await _call_url(storage, n, T0, [WINDOW])
        await _call_url(storage, 5, T0, [other])
        with pytest.raises(RateLimited):
            await _session(storage, 9, T0, [WINDOW])  # the key is what counts, not the kind

    async def test_the_longest_wait_is_reported_and_a_refusal_counts_nowhere(
        self, storage: Storage
    ) -> None:
        hourly = RateLimit("action:u:subject", 3, 3600)
        await _room(storage, 1, T0, [WINDOW, hourly])
        await _room(storage, 2, T0, [WINDOW, hourly])
        with pytest.raises(RateLimited) as refused:
            await _room(storage, 3, T0 + 1, [WINDOW, hourly])
        assert refused.value.retry_after == 59
        await _room(storage, 3, T0 + 60, [WINDOW, hourly])  # the refusal was not counted
        with pytest.raises(RateLimited) as hour:
            await _room(storage, 4, T0 + 120, [WINDOW, hourly])
        assert hour.value.retry_after == 3600 - 120

    async def test_a_join_refused_by_the_room_counts_nowhere(self, storage: Storage) -> None:
        with pytest.raises(RoomNotFound):
            await storage.join_room(
                "nowhere",
                make_participant(),
                generation=0,
                now=T0,
                room_expires_at=T0 + HOUR,
                limits=[WINDOW],
            )
        await storage.create_room(make_room("joined"), now=T0)
        with pytest.raises(JoinConflict):
            await storage.join_room(
                "joined",
                make_participant(),
                generation=7,
                now=T0,
                room_expires_at=T0 + HOUR,
                limits=[WINDOW],
            )
        await _join(storage, 1, T0, [WINDOW])
        await _join(storage, 2, T0, [WINDOW])
        with pytest.raises(RateLimited):
            await _join(storage, 3, T0, [WINDOW])

    async def test_a_full_window_refuses_before_the_room_is_looked_at(
        self, storage: Storage
    ) -> None:
        await _join(storage, 1, T0, [WINDOW])
        await _join(storage, 2, T0, [WINDOW])
        with pytest.raises(RateLimited):
            await storage.join_room(
                "nowhere",
                make_participant(),
                generation=0,
                now=T0,
                room_expires_at=T0 + HOUR,
                limits=[WINDOW],
            )

    async def test_a_call_attempt_counts_even_when_nobody_is_reachable(
        self, storage: Storage
    ) -> None:
        for n in range(2):
            created = await storage.create_call(
                make_call(f"c{n}"), callees=["bob"], reachable_only=True, now=T0, limits=[WINDOW]
            )
            assert created.callees == ()
        with pytest.raises(RateLimited):
            await _call(storage, 3, T0, [WINDOW])


class RoomCapContract:
    async def test_the_owners_live_rooms_are_capped(self, storage: Storage) -> None:
        for n in range(3):
            await storage.create_room(make_room(f"r{n}"), now=T0, max_rooms=3)
        with pytest.raises(TooManyRooms):
            await storage.create_room(make_room("r3"), now=T0, max_rooms=3)
        assert await storage.get_room("r3", now=T0) is None
        await storage.create_room(make_room("b0", owner="owner-2"), now=T0, max_rooms=3)
        await storage.create_room(make_room("r3"), now=T0, max_rooms=0)  # 0: no cap

    async def test_deleted_and_expired_rooms_free_their_place(self, storage: Storage) -> None:
        await storage.create_room(make_room("short", expires_at=T0 + 10), now=T0, max_rooms=2)
        await storage.create_room(make_room("kept"), now=T0, max_rooms=2)
        with pytest.raises(TooManyRooms):
            await storage.create_room(make_room("new"), now=T0 + 5, max_rooms=2)
        await storage.create_room(make_room("new"), now=T0 + 10, max_rooms=2)
        await storage.delete_room("kept", owner="owner-1", now=T0 + 11, deleted_ttl=DELETED_TTL)
        await storage.create_room(make_room("newer"), now=T0 + 11, max_rooms=2)
        with pytest.raises(TooManyRooms):
            await storage.create_room(make_room("newest"), now=T0 + 11, max_rooms=2)

    async def test_a_full_window_is_reported_before_the_cap(self, storage: Storage) -> None:
        await storage.create_room(make_room("r0"), now=T0, limits=[WINDOW], max_rooms=1)
        await storage.create_room(make_room("r1"), now=T0, limits=[WINDOW], max_rooms=0)
        with pytest.raises(RateLimited):
            await storage.create_room(make_room("r2"), now=T0, limits=[WINDOW], max_rooms=1)


class QuotaContract(RateWindowContract, RoomCapContract):
    pass
