"""The hot path to a Redis Cluster: one :class:`~loop.storage.redis.lane.Lane` per master,
each command sent to the master owning the hash slot of its first key.

The slot map comes from ``CLUSTER SLOTS`` (asked of a known node, the seeds of the URL
first) on the first command and again after a ``MOVED`` redirection, after which the
command is sent once more to the node named; an ``ASK`` redirection (a slot being
migrated) sends ``ASKING`` and the command to the node named, without touching the map.
A single Redis never goes through here: :class:`Lane` stays as it was.

``redis+cluster://host:port,host:port/`` (``rediss+cluster://`` for TLS) names the
cluster: a few of its masters are enough, the rest are found in the slot map. Query options
(``?socket_connect_timeout=1``) apply to every node's connections.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot
from redis.exceptions import AskError, ClusterDownError, MovedError

from loop.storage.redis.errors import DRIVER_ERRORS
from loop.storage.redis.lane import Lane

Address = tuple[str, int]

SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}
"""Cluster URL schemes, and the scheme of one node's connections."""


def parse_cluster_url(url: str) -> tuple[list[Address], str]:
    """The seed nodes of a ``redis+cluster://`` URL, and the plain URL of the first one
    (``redis://host:port/0?options``) to build connections from. ``ValueError`` naming
    what is wrong: no node, a node without a port, a database other than 0 (a cluster has
    only database 0)."""
    parts = urlsplit(url)
    scheme = SCHEMES.get(parts.scheme.lower())
    if scheme is None:
        raise ValueError(f"storage.url: {parts.scheme!r} is not a Redis Cluster scheme")
    seeds = [_address(node) for node in parts.netloc.split(",") if node]
    if not seeds:
        raise ValueError("storage.url: a Redis Cluster URL lists at least one host:port")
    if parts.path not in ("", "/", "/0"):
        raise ValueError("storage.url: a Redis Cluster has only database 0 (use '/')")
    host, port = seeds[0]
    query = f"?{parts.query}" if parts.query else ""
    return seeds, f"{scheme}://{host}:{port}/0{query}"


def _address(node: str) -> Address:
    host, _, port = node.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"storage.url: Redis Cluster node {node!r} is not host:port")
    return host.strip("[]"), int(port)


def first_key(command: Sequence[str | int]) -> str | None:
    """The key a command is routed by: an ``EVAL``/``EVALSHA``'s first key, or the first
    argument of any other command (``None`` for a script without keys)."""
    if command[0] in ("EVALSHA", "EVAL"):
        return str(command[3]) if int(command[2]) > 0 else None
    return str(command[1]) if len(command) > 1 else None


def slot_of(key: str) -> int:
    return int(key_slot(key.encode()))


class ClusterLane:
    """Stands in for a :class:`Lane` (``execute``), routing each command by its key."""

    def __init__(
        self, seeds: Sequence[Address], lane_for: Callable[[Address], Lane], *, timeout: float
    ) -> None:
        self._seeds = list(seeds)
        self._timeout = timeout
        self._lane_for = lane_for
        self._lanes: dict[Address, Lane] = {}
        self._owners: list[Address | None] | None = None
        self._mapping = asyncio.Lock()

    async def execute(self, *command: str | int) -> Any:
        key = first_key(command)
        address = await self.address_of(key) if key is not None else self._seeds[0]
        try:
            return await self.lane(address).execute(*command)
        except MovedError as moved:
            await self.refresh()
            return await self.lane(moved.node_addr).execute(*command)
        except AskError as ask:
            return await self.lane(ask.node_addr).execute_asking(*command)

    async def address_of(self, key: str) -> Address:
        """The master owning ``key``'s slot, by the slot map (loaded on first use)."""
        owners = self._owners or await self.refresh()
        owner = owners[slot_of(key)]
        if owner is None:
            raise ClusterDownError(f"hash slot {slot_of(key)} is served by no node")
        return owner

    def owns(self, address: Address, key: str) -> bool:
        """Whether the slot map (if loaded) says ``address`` serves ``key``."""
        return self._owners is not None and self._owners[slot_of(key)] == address

    def masters(self) -> list[Address]:
        """The masters of the slot map, in slot order (empty until it is loaded)."""
        return list(dict.fromkeys(owner for owner in self._owners or () if owner))

    def lane(self, address: Address) -> Lane:
        lane = self._lanes.get(address)
        if lane is None:
            lane = self._lanes[address] = self._lane_for(address)
        return lane

    async def refresh(self) -> list[Address | None]:
        """Load the slot map from the first node that answers ``CLUSTER SLOTS``, within
        one storage timeout whatever the number of nodes tried."""
        async with asyncio.timeout(self._timeout), self._mapping:
            failure: BaseException | None = None
            for address in [*self.masters(), *self._seeds]:
                try:
                    reply = await self.lane(address).execute("CLUSTER", "SLOTS")
                except DRIVER_ERRORS as error:
                    failure = error
                    continue
                self._owners = _slot_map(reply, address)
                return self._owners
            raise ClusterDownError(f"no Redis Cluster node answered: {failure}")

    async def close(self) -> None:
        lanes, self._lanes = list(self._lanes.values()), {}
        for lane in lanes:
            await lane.close()


def _slot_map(reply: Any, asked: Address) -> list[Address | None]:
    """``CLUSTER SLOTS`` as a list indexed by slot; a master announced without a host is
    the node that was asked."""
    owners: list[Address | None] = [None] * REDIS_CLUSTER_HASH_SLOTS
    for first, last, master, *_replicas in reply:
        host = str(master[0]) or asked[0]
        address = (host, int(master[1]))
        owners[int(first) : int(last) + 1] = [address] * (int(last) - int(first) + 1)
    return owners
