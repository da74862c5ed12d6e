from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.support.ports import refusing_port
from tests.support.redis_cluster import redis_cluster
from tests.support.redis_server import RedisServer, redis_process, redis_server


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """One real redis-server for the whole run; tests flush it (see ``storage_url``)."""
    with redis_server() as url:
        yield url


@pytest.fixture(scope="session")
def redis_cluster_url() -> Iterator[str]:
    """One real three-master Redis Cluster for the whole run, as
    ``redis+cluster://host:port,...``; tests flush every master (:func:`flush_cluster`)."""
    with redis_cluster() as url:
        yield url


def flush_cluster(url: str) -> None:
    """Empty every master of the cluster ``url`` names."""
    first = url.split("://", 1)[1].split(",", 1)[0].rstrip("/")
    with redis.RedisCluster.from_url(f"redis://{first}") as client:
        client.flushdb(target_nodes=redis.RedisCluster.PRIMARIES)


@pytest.fixture(params=["sqlite", "redis"])
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The storage a test's app opens: a fresh SQLite file, or the session's redis-server
    emptied (a server in another process, as the end-to-end tests start, does not flush
    it for the test)."""
    return empty_storage(request, tmp_path)


def empty_storage(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty store of the kind ``request.param`` names: ``sqlite``, ``redis``
    (the session's server, flushed) or ``redis-cluster`` (the session's cluster, flushed)."""
    if request.param == "redis-cluster":
        cluster: str = request.getfixturevalue("redis_cluster_url")
        flush_cluster(cluster)
        return cluster
    if request.param == "redis":
        url: str = request.getfixturevalue("redis_url")
        with redis.Redis.from_url(url) as client:
            client.flushdb()
        return url
    return f"sqlite:///{tmp_path / 'loop.db'}"


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A loopback port that refuses connections for the whole test (held, so a test run
    in parallel cannot start a server on it)."""
    with refusing_port() as port:
        yield port


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A redis-server of the test's own, to freeze, kill or restart."""
    with redis_process() as process:
        yield process
