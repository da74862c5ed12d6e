"""The cluster steps of account deletion and of forgetting a push target, and the
admin concern's figures summed over the masters.

Account deletion reads the user's indexes (one script on the user's hash slot), removes
every record they name, each on its own slot, and only then deletes the indexes, so an
interrupted deletion leaves the indexes that lead a retry to what is left. Every step is
idempotent: a record already gone is skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from redis.asyncio.cluster import RedisCluster

from loop.storage.redis import codec, keys
from loop.storage.redis.cluster_base import ClusterBase
from loop.storage.redis.codec import number
from loop.storage.redis.errors import wrap_redis_error
from loop.storage.redis.scripts import load
from loop.storage.sessions import PushTarget

ACCOUNT_INDEXES = load("account_indexes")
FORGET_USER_PUSH = load("forget_user_push")
DROP_DEVICE = load("drop_device")
DROP_OWNED_ROOM = load("drop_owned_room")
DROP_OWNED_URL = load("drop_owned_url")
FORGET_DEVICE_TARGET = load("forget_device_target")

USER_INDEXES = ("push", "sessions", "rooms", "urls", "calls")


class ClusterAccounts(ClusterBase):
    @wrap_redis_error
    async def delete_account(self, user: str, *, hawk_id_hmac: str, now: float) -> None:
        at = number(now)
        names = [keys.user(user, what) for what in USER_INDEXES]
        pushed, devices, rooms, urls, calls = await self._run(ACCOUNT_INDEXES, names, at)
        await self._each(FORGET_USER_PUSH, [[keys.session(d)] for d in pushed], at, user)
        for device in dict.fromkeys([*devices, hawk_id_hmac]):
            await self._run(DROP_DEVICE, [keys.session(device)], at, device)
        room_keys = [[keys.room(t), keys.participants(t)] for t in rooms]
        await self._each(DROP_OWNED_ROOM, room_keys, at, user, "any", "", "")
        await self._each(DROP_OWNED_URL, [[keys.call_url(t)] for t in urls], at, user)
        await asyncio.gather(*(self._command("DEL", keys.call(i), keys.markers(i)) for i in calls))
        await self._command("DEL", *names, keys.user(user, "deleted"))

    async def _each(self, script: object, per_record: Sequence[list[str]], *args: str) -> None:
        """One script per record, all at once."""
        await asyncio.gather(*(self._run(script, names, *args) for names in per_record))  # type: ignore[arg-type]

    @wrap_redis_error
    async def forget_push_target(self, user: str, target: PushTarget, *, now: float) -> int:
        """Each device indexed for the user on its own slot, then the index pruned of the
        devices left with no target for the user."""
        (_, text) = codec.target_fields({"rooms": target})
        index = keys.user(user, "push")
        devices = await self._command("SMEMBERS", index)
        outcomes = await asyncio.gather(
            *(
                self._run(FORGET_DEVICE_TARGET, [keys.session(d)], number(now), user, text)
                for d in devices
            )
        )
        emptied = [d for d, (_, empty) in zip(devices, outcomes, strict=True) if int(empty)]
        if emptied:
            await self._command("SREM", index, *emptied)
        return sum(int(removed) for removed, _ in outcomes)

    async def _size(self) -> tuple[int, int]:
        """Summed over the masters."""
        client: Any = self._client
        memory = await client.info("memory", target_nodes=RedisCluster.PRIMARIES)
        keys_held = await client.dbsize(target_nodes=RedisCluster.PRIMARIES)
        return sum(int(node["used_memory"]) for node in memory.values()), int(keys_held)

    def _reap_index(self, token: str) -> str:
        return keys.reap_bucket(token)

    def _reap_indexes(self) -> Sequence[str]:
        return keys.REAP_BUCKETS
