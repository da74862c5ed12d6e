"""The Redis gateway backend against the shared contract (a real redis-server)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from loop.msisdn.storage.redis import RedisGatewayStorage, from_url
from loop.msisdn.storage.testing import GatewayStorageContract
from loop.storage import BackendError
from tests.support.redis_server import redis_process

DB = 7
"""A database of its own, away from the Loop storage tests'."""


@pytest.fixture
async def storage(redis_url: str) -> AsyncIterator[RedisGatewayStorage]:
    store = from_url(redis_url.rsplit("/", 1)[0] + f"/{DB}")
    await store.flush()
    yield store
    await store.close()


@pytest.fixture
async def broken_storage(refused_port: int) -> AsyncIterator[RedisGatewayStorage]:
    store = from_url(f"redis://127.0.0.1:{refused_port}/0?socket_connect_timeout=0.5")
    yield store
    await store.close()


class TestRedisGatewayStorage(GatewayStorageContract):
    pass


async def test_a_frozen_redis_fails_each_call_within_the_storage_timeout() -> None:
    with redis_process() as server:
        store = from_url(server.url, timeout=0.5)
        try:
            assert await store.hit("bucket", now=1000.0, period=60) == (1, 1020.0)
            server.freeze()
            started = time.monotonic()
            with pytest.raises(BackendError):
                await store.hit("bucket", now=1000.0, period=60)
            assert await store.ping(now=1000.0) is False
            assert time.monotonic() - started < 2 * 0.5 + 1.0
            server.thaw()
            # (The hit given up on may still have counted once Redis ran again.)
            assert await store.hit("other", now=1000.0, period=60) == (1, 1020.0)
        finally:
            if server.running:
                server.thaw()
            await store.close()
