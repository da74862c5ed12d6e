"""The Redis gateway backend against the shared contract (a real redis-server)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from loop.msisdn.storage.redis import RedisGatewayStorage, from_url
from loop.msisdn.storage.testing import GatewayStorageContract

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
