"""Participants who stop refreshing (loop-api.md §5.2, §5.6; decisions §6)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest

from loop.config import RoomsSettings, StorageSettings
from loop.rooms import reap_expired_participants, watch_participant_expiry
from loop.storage import BackendError, RoomChange
from tests.routes.conftest import Harness
from tests.support.push_server import PushServer
from tests.support.rooms import create_room, harness_with, joined, register_push, room_state
from tests.support.waiting import DEADLINE, eventually


@pytest.fixture
async def quick(storage_url: str) -> AsyncIterator[Harness]:
    """Participants lapse after one second; the sweeper runs every 10 ms when started."""
    storage = StorageSettings(url=storage_url, expiry_check_interval=0.01)
    rooms = RoomsSettings(participant_ttl=1)
    async with harness_with(storage_url, storage=storage, rooms=rooms) as harness:
        yield harness


async def test_a_sweep_removes_lapsed_participants_and_notifies_the_owner(quick: Harness) -> None:
    with PushServer() as push:
        owner = await quick.client.register()
        await register_push(quick, owner, push.url("/owner"))
        token = (await create_room(quick, owner))["roomToken"]
        await joined(quick, token)
        await joined(quick, token)
        await push.wait_for(3)
        assert await reap_expired_participants(quick.services) == []
        quick.clock.advance(1.5)
        (change,) = await reap_expired_participants(quick.services)
        now = int(quick.clock.now())
        assert change.version == now
        state = await room_state(quick, token)
        assert state.participants == ()
        assert (state.room.update_time, state.room.expires_at) == (now, now + 1344 * 3600)
        requests = await push.wait_for(4)
        assert requests[3].form == {"version": str(now)}
        assert await reap_expired_participants(quick.services) == []


async def test_expiry_answers_participation_expired(quick: Harness) -> None:
    owner = await quick.client.register()
    guest = await quick.client.register()
    token = (await create_room(quick, owner))["roomToken"]
    await joined(quick, token, guest)
    quick.clock.advance(0.5)
    body = {"action": "refresh"}
    assert (await quick.client.post(f"/rooms/{token}", json=body, hawk=guest)).status_code == 200
    quick.clock.advance(0.9)
    assert len((await room_state(quick, token)).participants) == 1
    quick.clock.advance(0.2)
    response = await quick.client.post(f"/rooms/{token}", json=body, hawk=guest)
    assert response.json()["errno"] == 111


async def test_the_watcher_sweeps_until_cancelled(quick: Harness) -> None:
    owner = await quick.client.register()
    token = (await create_room(quick, owner))["roomToken"]
    await joined(quick, token)
    task = asyncio.ensure_future(watch_participant_expiry(quick.services))
    try:
        quick.clock.advance(2)
        await eventually(lambda: _swept(quick, token), what="the sweep")
    finally:
        task.cancel()
    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(DEADLINE):  # a watcher that ignores cancel fails here
            await task


async def test_the_watcher_survives_backend_failures(
    quick: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = await quick.client.register()
    token = (await create_room(quick, owner))["roomToken"]
    await joined(quick, token)
    storage = quick.services.storage
    real = storage.reap_participants
    failures = 0

    async def flaky(**kwargs: Any) -> list[RoomChange]:
        nonlocal failures
        if failures < 3:
            failures += 1
            raise BackendError(ConnectionError("down")) if failures < 3 else RuntimeError("bug")
        return await real(**kwargs)

    monkeypatch.setattr(storage, "reap_participants", flaky)
    task = asyncio.ensure_future(watch_participant_expiry(quick.services))
    try:
        quick.clock.advance(2)
        await eventually(lambda: _swept(quick, token), what="the sweep")
        assert failures == 3
    finally:
        task.cancel()
        async with asyncio.timeout(DEADLINE):
            await asyncio.gather(task, return_exceptions=True)


async def test_the_watcher_stops_even_when_a_library_swallows_the_cancel(
    quick: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Python 3.11's ``asyncio.wait_for`` (inside redis-py) returns a result instead of
    raising when a cancel lands as the command completes; the watcher must stop anyway,
    or shutdown, which cancels then awaits it, hangs. Here the sweep swallows it for sure."""
    sweeping = asyncio.Event()
    swallowed = False

    async def swallowing(**kwargs: Any) -> list[RoomChange]:
        nonlocal swallowed
        sweeping.set()
        if not swallowed:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                swallowed = True  # as wait_for does when its inner call has just finished
        return []

    monkeypatch.setattr(quick.services.storage, "reap_participants", swallowing)
    task = asyncio.ensure_future(watch_participant_expiry(quick.services))
    async with asyncio.timeout(DEADLINE):
        await sweeping.wait()
    task.cancel()
    try:
        with pytest.raises(asyncio.CancelledError):
            async with asyncio.timeout(DEADLINE):
                await task
    finally:
        task.cancel()  # a second cancel (not swallowed) for a watcher that ran on
    assert swallowed


async def _swept(harness: Harness, token: str) -> bool:
    """Reads hide lapsed participants anyway: only the touch shows the sweeper ran."""
    return (await room_state(harness, token)).room.update_time == int(harness.clock.now())


def test_settings_are_frozen() -> None:
    """The fixture relies on replacing whole sections, never mutating them."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        RoomsSettings().participant_ttl = 1  # type: ignore[misc]
