"""A Redis that freezes, dies or comes back: every storage wait ends within
``storage.timeout`` with ``BackendError``, nothing leaks, and the next call after Redis
returns succeeds. Each test owns its redis-server (``SIGSTOP``, ``SIGKILL``, restart)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable

import pytest
import redis

from loop.storage import BackendError
from loop.storage.redis import POOL_SIZE, RedisStorage, from_url
from loop.storage.testing.factories import T0
from tests.support.redis_server import RedisServer
from tests.support.waiting import eventually

TIMEOUT = 0.5
"""The storage timeout under test: short, so the tests are quick."""
MARGIN = 1.0
"""Scheduling slack on a busy two-core machine."""
CALLERS = POOL_SIZE * 2
"""More concurrent callers than the pool has connections."""


@pytest.fixture
def server(own_redis: RedisServer) -> RedisServer:
    return own_redis


@pytest.fixture
async def storage(server: RedisServer) -> AsyncIterator[RedisStorage]:
    store = await from_url(server.url, timeout=TIMEOUT)
    try:
        yield store
    finally:
        if server.running:  # a test that failed may leave it frozen
            server.thaw()
        await store.close()


def connected_clients(server: RedisServer) -> int:
    with redis.Redis.from_url(server.url) as admin:
        count: int = admin.info("clients")["connected_clients"]
        return count - 1  # not this admin connection


async def timed_failure(call: Awaitable[object]) -> float:
    """Seconds until ``call`` raised ``BackendError``."""
    started = time.monotonic()
    with pytest.raises(BackendError):
        await call
    return time.monotonic() - started


async def test_a_frozen_redis_fails_every_caller_within_the_timeout(
    server: RedisServer, storage: RedisStorage
) -> None:
    assert await storage.get_room("absent", now=T0) is None
    tasks_before = asyncio.all_tasks()  # the lane's reader and writer among them
    server.freeze()

    waits = await asyncio.gather(
        *(timed_failure(storage.get_room(f"room{i}", now=T0)) for i in range(CALLERS))
    )

    assert max(waits) < TIMEOUT + MARGIN, max(waits)
    assert asyncio.all_tasks() <= tasks_before  # nothing left behind (the lane's, gone)
    server.thaw()
    started = time.monotonic()
    assert await storage.get_room("absent", now=T0) is None
    assert time.monotonic() - started < TIMEOUT
    # The connections given up on were closed, not kept: Redis sees them go.
    await eventually(lambda: connected_clients(server) <= 1, what="abandoned connections closed")


async def test_the_heartbeat_ping_reports_a_frozen_redis_within_the_timeout(
    server: RedisServer, storage: RedisStorage
) -> None:
    assert await storage.ping(now=T0) is True
    server.freeze()

    started = time.monotonic()
    assert await storage.ping(now=T0) is False
    assert time.monotonic() - started < TIMEOUT + MARGIN

    server.thaw()
    assert await storage.ping(now=T0) is True


async def test_signalling_commands_are_bounded_on_a_frozen_redis(
    server: RedisServer, storage: RedisStorage
) -> None:
    assert await storage.list_members("chan", now=T0) == []
    server.freeze()

    assert await timed_failure(storage.list_members("chan", now=T0)) < TIMEOUT + MARGIN
    assert await timed_failure(storage.remove_member("chan", "peer")) < TIMEOUT + MARGIN
    assert await timed_failure(storage.publish_signal("chan", "hello")) < TIMEOUT + MARGIN

    server.thaw()
    assert await storage.remove_member("chan", "peer") is False


async def test_a_subscription_on_a_frozen_redis_fails_within_the_timeout_then_recovers(
    server: RedisServer, storage: RedisStorage
) -> None:
    before = await storage.subscribe_signals("first", lambda message: None)
    server.freeze()

    waits = await asyncio.gather(
        *(
            timed_failure(storage.subscribe_signals(f"chan{i}", lambda message: None))
            for i in range(10)
        )
    )
    assert max(waits) < TIMEOUT + MARGIN, max(waits)

    server.thaw()
    received: asyncio.Queue[str] = asyncio.Queue()
    after = await storage.subscribe_signals("second", received.put_nowait)
    await storage.publish_signal("second", "hello")
    assert await asyncio.wait_for(received.get(), TIMEOUT + MARGIN) == "hello"
    await after.close()
    await before.close()


async def test_a_first_subscription_on_a_frozen_redis_fails_within_the_timeout(
    server: RedisServer, storage: RedisStorage
) -> None:
    """No pub/sub connection yet: connecting is what hangs."""
    server.freeze()

    assert await timed_failure(storage.subscribe_call("call", lambda progress: None)) < (
        TIMEOUT + MARGIN
    )

    server.thaw()
    subscription = await storage.subscribe_call("call", lambda progress: None)
    await subscription.close()


async def test_a_killed_redis_fails_fast_and_a_restart_on_the_same_port_recovers(
    server: RedisServer, storage: RedisStorage
) -> None:
    assert await storage.get_room("absent", now=T0) is None
    before = await storage.subscribe_signals("first", lambda message: None)
    server.kill()

    waits = await asyncio.gather(
        *(timed_failure(storage.get_room(f"room{i}", now=T0)) for i in range(CALLERS))
    )
    assert max(waits) < TIMEOUT + MARGIN, max(waits)

    server.start()
    # The pooled connections are stale; the first call replaces them. The restarted
    # server has no scripts cached either.
    assert await storage.get_room("absent", now=T0) is None
    received: asyncio.Queue[str] = asyncio.Queue()
    after = await storage.subscribe_signals("second", received.put_nowait)
    await storage.publish_signal("second", "hello")
    assert await asyncio.wait_for(received.get(), TIMEOUT + MARGIN) == "hello"
    await after.close()
    await before.close()
