""":class:`ClusterRedisStorage`: the Redis backend on a Redis Cluster.

A cluster runs a script only if every key it touches is in one hash slot. Every script
here takes keys of one slot (a record and its satellites share a hash tag: ``r:{token}``
and ``r:{token}:p``) and reaches keys of other slots (the owner's ``u:{owner}:rooms``, the
reap index, the push indexes...) only through the prelude's ``foreign`` (writes) and
``targets`` (reads). On a single Redis those act at once, in the same script; here the
script hands the writes back (``{reply, writes}``, the scripts' ``cluster_source``; a
write to one of the script's own keys, in its slot, is done at once: a guest's push index
``u:{device}:push`` shares its session's hash tag) and
:meth:`ClusterRedisStorage._run` applies them, one ``apply_writes`` script per slot, and
replaces each ``targets`` placeholder with the owner's push targets, read from the push
index then from each device's session. The cluster form starts ``#!lua`` (flags declared),
so Redis itself refuses a script touching a key outside its first key's slot (scripts
without flags may cross slots on one node): the storage contract suite, run on a
three-master cluster, proves every script keeps to one slot.

What a single Redis does atomically in one script is here a short sequence of atomic
per-slot steps, ordered so that an interruption leaves nothing visible wrong:

* a record first, then its indexes (an index entry without its record is pruned when
  read; a record missing from an index is found again when next touched);
* rate windows are checked before the change and counted after it succeeds (two clients
  racing may both pass a window's last slot); the room cap is counted before creating;
* participants' expiries go to :data:`~loop.storage.redis.keys.REAP_BUCKETS`, which the
  reaper walks bucket by bucket, each due entry taken by the one script that reads it;
* account deletion (:mod:`.cluster_accounts`) reads the user's indexes, removes every
  record they name, then the indexes: run again after an interruption, it finishes.

Pub/sub uses classic ``PUBLISH``/``SUBSCRIBE``, which a cluster broadcasts to every node,
so one subscriber connection (to the first node of the URL) per process and concern still
hears every channel; sharded pub/sub would spare the broadcast, at one connection per
master.
"""

from __future__ import annotations

import redis.asyncio
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.connection import AbstractConnection

from loop.storage import DEFAULT_TIMEOUT
from loop.storage.redis import POOL_SIZE, connection_pool, lane_connection_options
from loop.storage.redis.cluster import Address, ClusterLane, parse_cluster_url
from loop.storage.redis.cluster_accounts import ClusterAccounts
from loop.storage.redis.cluster_rooms import ClusterRooms
from loop.storage.redis.lane import Lane


class ClusterRedisStorage(ClusterRooms, ClusterAccounts):
    """:class:`~loop.storage.redis.RedisStorage` on a Redis Cluster."""


async def from_url(url: str, *, timeout: float = DEFAULT_TIMEOUT) -> ClusterRedisStorage:
    """Open a ``redis+cluster://host:port,host:port/`` (or ``rediss+cluster://``) URL:
    the pool options, retries and deadline of :func:`loop.storage.redis.from_url`, with a
    :class:`Lane` (one connection, ``POOL_SIZE`` commands in flight) per master. Nothing
    is sent until the first call, which loads the slot map. ``ValueError`` for a URL that
    names no node."""
    seeds, first = parse_cluster_url(url)
    pool = connection_pool(first, timeout=timeout)
    template = lane_connection_options(pool)

    def lane_for(address: Address) -> Lane:
        host, port = address

        def connect() -> AbstractConnection:
            return pool.connection_class(
                **{**template, "host": host, "port": port},
                redis_connect_func=storage._check_on_connect,
            )

        return Lane(connect, POOL_SIZE, timeout=timeout)

    admin = RedisCluster(
        startup_nodes=[ClusterNode(host, port) for host, port in seeds],
        decode_responses=True,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        ssl=first.startswith("rediss:"),
    )
    subscriber = redis.asyncio.Redis(connection_pool=pool)
    storage = ClusterRedisStorage(
        admin, subscriber, ClusterLane(seeds, lane_for, timeout=timeout), timeout=timeout
    )
    return storage
