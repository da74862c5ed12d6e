"""The Redis backend on a real three-master Redis Cluster against the storage contract,
plus what only a cluster has: slot routing (``MOVED``, ``ASK``), every script on one slot,
the reap index spread over buckets, account deletion as per-slot steps."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from loop.storage.redis.clustered import ClusterRedisStorage, from_url
from loop.storage.testing import StorageContract
from tests.conftest import flush_cluster


@pytest.fixture
async def storage(redis_cluster_url: str) -> AsyncIterator[ClusterRedisStorage]:
    flush_cluster(redis_cluster_url)
    store = await from_url(redis_cluster_url)
    yield store
    await store.close()


@pytest.fixture
async def broken_storage(refused_port: int) -> AsyncIterator[ClusterRedisStorage]:
    """Nothing listens on that port: the slot map cannot be loaded."""
    url = f"redis+cluster://127.0.0.1:{refused_port}/?socket_connect_timeout=0.5"
    store = await from_url(url)
    yield store
    await store.close()


class TestRedisClusterStorage(StorageContract):
    """The shared contract, every method on the cluster."""
