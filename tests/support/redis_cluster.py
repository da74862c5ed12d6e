"""A real three-master Redis Cluster on free loopback ports, owned by the test session.

Three ``redis-server --cluster-enabled yes`` processes (each a :class:`RedisServer` with
cluster options, its own config file and bus port), joined by ``redis-cli --cluster
create`` with no replicas, then awaited until every node reports ``cluster_state:ok``
and knows the three masters. The URL it yields, ``redis+cluster://host:port,...``, is the
one the server is configured with.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator

import redis

from tests.support.ports import free_port
from tests.support.redis_server import RedisServer, redis_binary
from tests.support.waiting import eventually_blocking

MASTERS = 3


@contextlib.contextmanager
def redis_cluster() -> Iterator[str]:
    """Yield ``redis+cluster://127.0.0.1:<p1>,127.0.0.1:<p2>,127.0.0.1:<p3>/`` for a
    fresh cluster; stop its nodes afterwards."""
    with redis_cluster_nodes() as (url, _):
        yield url


@contextlib.contextmanager
def redis_cluster_nodes() -> Iterator[tuple[str, list[RedisServer]]]:
    """:func:`redis_cluster`, with its nodes (to kill one, as outage tests do)."""
    binary = redis_binary()
    cli = shutil.which("redis-cli")
    if cli is None:
        raise RuntimeError("redis-cli is not installed; run `sudo apt-get install redis-tools`")
    with tempfile.TemporaryDirectory(prefix="loop-cluster-") as workdir:
        nodes = [_node(binary, workdir, index) for index in range(MASTERS)]
        try:
            for node in nodes:
                node.start()
            _create(cli, [node.port for node in nodes])
            for node in nodes:
                eventually_blocking(
                    lambda node=node: _ready(node.port),  # type: ignore[misc]
                    what=f"cluster node {node.port} to see the cluster as ok",
                    timeout=30,
                )
            seeds = ",".join(f"127.0.0.1:{node.port}" for node in nodes)
            yield f"redis+cluster://{seeds}/", nodes
        finally:
            for node in nodes:
                node.stop()


def _node(binary: str, workdir: str, index: int) -> RedisServer:
    return RedisServer(
        binary,
        free_port(),
        workdir,
        extra=[
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            f"nodes-{index}.conf",
            "--cluster-port",
            str(free_port()),
            "--dbfilename",
            f"dump-{index}.rdb",
        ],
    )


def _create(cli: str, ports: list[int]) -> None:
    """Assign the 16384 slots evenly to the masters (no replicas)."""
    addresses = [f"127.0.0.1:{port}" for port in ports]
    subprocess.run(
        [cli, "--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=30,
    )


def _ready(port: int) -> bool:
    with redis.Redis(port=port, socket_timeout=2, decode_responses=True) as client:
        info = client.cluster("INFO")
        ok = "cluster_state:ok" in str(info) or (
            isinstance(info, dict) and info.get("cluster_state") == "ok"
        )
        return ok and len(client.cluster("SLOTS")) >= MASTERS
