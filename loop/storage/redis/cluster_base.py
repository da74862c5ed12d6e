"""The plumbing of :class:`~loop.storage.redis.clustered.ClusterRedisStorage`: scripts run
in their cluster form on their first key's master, their foreign writes applied per hash
slot, their push-target placeholders filled, rate windows checked and counted per slot.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import redis.asyncio
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import NoScriptError

from loop.storage.checks import armed_check
from loop.storage.quotas import RateLimit
from loop.storage.redis import NOOP, RedisStorage, keys
from loop.storage.redis.cluster import ClusterLane, slot_of
from loop.storage.redis.codec import number
from loop.storage.redis.errors import wrap_redis_error
from loop.storage.redis.keys import session as session_key
from loop.storage.redis.quotas import check, window_spec
from loop.storage.redis.scripts import Script, load
from loop.storage.secrets import SecretsDiverged

APPLY_WRITES = load("apply_writes")
RATE_FULL = load("rate_full")
RATE_COUNT = load("rate_count")
TARGETS_PLACEHOLDER = "\0targets"


class ClusterBase(RedisStorage):
    """:class:`RedisStorage` whose commands go through a :class:`ClusterLane`; the
    concerns' cluster steps are mixins over it."""

    _lane: ClusterLane  # type: ignore[assignment]

    def __init__(
        self,
        client: RedisCluster,
        subscriber: redis.asyncio.Redis,
        lane: ClusterLane,
        *,
        timeout: float,
    ) -> None:
        super().__init__(client, lane, timeout=timeout)  # type: ignore[arg-type]
        self._subscriber = subscriber

    # -- one script, its foreign writes and push targets -----------------------------------

    async def _run(self, script: Script, keys: Sequence[str], *args: str) -> Any:
        """As on a single Redis, but a request's session check rides on the call only if
        the call's keys are in the session's slot (or it has none); otherwise the check is
        a call of its own, on the session's master, first."""
        if self._secrets.diverged:
            raise SecretsDiverged()
        check = armed_check()
        if check is not None and check.claim():
            if not keys or slot_of(keys[0]) == slot_of(session_key(check.hawk_id_hmac)):
                return await self._run_checked(check, script, keys, args)
            await self._run_checked(check, NOOP, [], [number(check.now)])
        elif check is not None:
            await check.outcome()
        return await self._send(script, len(keys), *keys, *args)

    async def _settle_check(self) -> None:
        """Before a plain command (which cannot carry it): the request's session check,
        alone, or the outcome of the call carrying it."""
        check = armed_check()
        if check is not None and check.claim():
            await self._run_checked(check, NOOP, [], [number(check.now)])
        elif check is not None:
            await check.outcome()

    async def _eval(self, script: Script, keys: Sequence[str], *args: str) -> Any:
        return await self._send(script, len(keys), *keys, *args)

    async def _send(self, script: Script, key_count: int, *keys_and_args: str | int) -> Any:
        """The script's cluster form on its first key's slot (keys of other slots, which
        the single-Redis callers still pass, are left out: the scripts do not read them
        from KEYS), then its foreign writes and targets."""
        names = [str(key) for key in keys_and_args[:key_count]]
        args = [str(arg) for arg in keys_and_args[key_count:]]
        local = [key for key in names if slot_of(key) == slot_of(names[0])] if names else []
        reply, writes = await self._script(script.cluster_sha, script.cluster_source, local, args)
        if writes:
            await self._apply(writes, args[0])
        return await self._fill_targets(reply, float(args[0]))

    async def _script(
        self, sha: str, source: str, keys: Sequence[str], args: Sequence[str]
    ) -> Any:
        self._count()
        try:
            return await self._lane.execute("EVALSHA", sha, len(keys), *keys, *args)
        except NoScriptError:
            self._count()
            return await self._lane.execute("EVAL", source, len(keys), *keys, *args)

    async def _apply(self, writes: Sequence[Sequence[str]], now: str) -> None:
        """The writes a script handed back, one ``apply_writes`` per hash slot, at once."""
        by_slot: dict[int, tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
        for command, key, *args in writes:
            names, ops = by_slot[slot_of(key)]
            if key not in names:
                names.append(key)
            ops += [command, str(names.index(key) + 1), str(len(args)), *args]
        await asyncio.gather(
            *(
                self._script(
                    APPLY_WRITES.cluster_sha, APPLY_WRITES.cluster_source, names, [now, *ops]
                )
                for names, ops in by_slot.values()
            )
        )

    async def _fill_targets(self, reply: Any, now: float) -> Any:
        """``reply`` with each ``{'\\0targets', user, topic}`` placeholder replaced."""
        if not isinstance(reply, list):
            return reply
        if len(reply) == 3 and reply[0] == TARGETS_PLACEHOLDER:
            return await self._read_targets(reply[1], reply[2], now)
        return [await self._fill_targets(item, now) for item in reply]

    async def _targets(self, user: str, topic: str, now: float) -> list[str]:
        await self._settle_check()
        return await self._read_targets(user, topic, now)

    async def _read_targets(self, user: str, topic: str, now: float) -> list[str]:
        """The prelude's ``targets`` in steps: the push index, each device's session (at
        once), then the index pruned of devices whose session or record is gone. Also
        within the call carrying a session check, so it does not wait for one."""
        index = keys.user(user, "push")
        devices = await self._raw("SMEMBERS", index)
        fields = ("e", f"p:calls:{user}", f"p:rooms:{user}")
        sessions = await asyncio.gather(
            *(self._raw("HMGET", keys.session(device), *fields) for device in devices)
        )
        found: list[str] = []
        stale = []
        for device, (expiry, calls, rooms) in zip(devices, sessions, strict=True):
            target = calls if topic == "calls" else rooms
            if expiry is None or not (calls or rooms):
                stale.append(device)
            elif float(expiry) > now and target and target not in found:
                found.append(target)
        if stale:
            await self._raw("SREM", index, *stale)
        return found

    async def _command(self, *command: str) -> Any:
        """One plain command, on its key's master, once the request's check is settled."""
        await self._settle_check()
        return await self._raw(*command)

    async def _raw(self, *command: str) -> Any:
        self._count()
        return await self._lane.execute(*command)

    # -- rate windows ----------------------------------------------------------------------

    async def _check_windows(self, limits: Sequence[RateLimit], now: float) -> None:
        """``RateLimited`` (the longest wait) if any window is full; each window is read
        on its own slot, all at once."""
        waits = await asyncio.gather(
            *(
                self._run(RATE_FULL, [keys.rate(w.key)], number(now), window_spec([w]))
                for w in limits
            )
        )
        full = [wait for wait in waits if wait is not None]
        if full:
            check(max(full))

    async def _count_windows(self, limits: Sequence[RateLimit], now: float) -> None:
        """Count the request in every window, once the change it limits was made."""
        await asyncio.gather(
            *(
                self._run(RATE_COUNT, [keys.rate(w.key)], number(now), window_spec([w]))
                for w in limits
            )
        )

    # -- lifecycle -------------------------------------------------------------------------

    @wrap_redis_error
    async def close(self) -> None:
        await self._close_call_hub()
        await self._close_signal_hub()
        await self._lane.close()
        await self._subscriber.aclose(close_connection_pool=True)
        await self._client.aclose()

    @wrap_redis_error
    async def flush(self) -> None:
        self._count()
        await self._client.flushdb(target_nodes=RedisCluster.PRIMARIES)

    async def _check_on_connect(self, connection: AbstractConnection) -> None:
        """As on a single Redis, but only on connections to the master holding the
        secrets record: another master losing its data does not lose the record."""
        address = (str(getattr(connection, "host", "")), int(getattr(connection, "port", 0)))
        if self._lane.owns(address, keys.SECRETS):
            await super()._check_on_connect(connection)
        else:
            await connection.on_connect()
