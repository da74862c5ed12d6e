"""The Redis side of :class:`loop.storage.signalling.SignallingStorage`.

A mixin of :class:`loop.storage.redis.RedisStorage`. A channel's members are a hash (keys in
:mod:`loop.storage.redis.keys`) that expires with its last member; its messages travel on
its pub/sub channel, through the process's own
subscriber connection (a :class:`RedisHub` of text messages): one
connection and one reader task per process, whatever the number of sockets.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from loop.storage.calls import CallSubscription
from loop.storage.redis import keys
from loop.storage.redis.codec import number
from loop.storage.redis.errors import wrap_redis_error as _wrap
from loop.storage.redis.plumbing import RedisPlumbing
from loop.storage.redis.pubsub import RedisHub
from loop.storage.redis.scripts import load
from loop.storage.signalling import Admission, Member, SignalListener

ADD_MEMBER = load("signal_add_member")
RENEW_MEMBERS = load("signal_renew_members")


class RedisSignallingStorage(RedisPlumbing):
    @_wrap
    async def add_member(
        self, channel: str, member: Member, *, now: float, ttl: float
    ) -> Admission:
        entry = {
            "m": [member.peer_id, member.participant, member.role, member.data],
            "e": number(now + ttl),
            "t": number(now),
        }
        peers, replaced = await self._run(
            ADD_MEMBER,
            [keys.signal_members(channel)],
            number(now),
            member.peer_id,
            member.participant,
            json.dumps(entry, separators=(",", ":")),
            str(int(ttl * 1000)),
        )
        return Admission(_members(peers), _members(replaced))

    @_wrap
    async def remove_member(self, channel: str, peer_id: str) -> bool:
        self._count()
        return bool(await self._lane.execute("HDEL", keys.signal_members(channel), peer_id))

    @_wrap
    async def renew_members(
        self, channel: str, peer_ids: Sequence[str], *, now: float, ttl: float
    ) -> None:
        if peer_ids:
            names = [keys.signal_members(channel)]
            expiry, ms = number(now + ttl), str(int(ttl * 1000))
            await self._run(RENEW_MEMBERS, names, number(now), expiry, ms, *peer_ids)

    @_wrap
    async def list_members(self, channel: str, *, now: float) -> list[Member]:
        self._count()
        listed = await self._lane.execute("HVALS", keys.signal_members(channel))
        live = [str(raw) for raw in listed if float(json.loads(raw)["e"]) > now]
        return list(_members(live))

    @_wrap
    async def publish_signal(self, channel: str, message: str) -> None:
        self._count()
        await self._lane.execute("PUBLISH", keys.signal_channel(channel), message)

    async def subscribe_signals(self, channel: str, listener: SignalListener) -> CallSubscription:
        self._count()
        return await self._signal_hub().subscribe(keys.signal_channel(channel), listener)

    def _signal_hub(self) -> RedisHub[str]:
        hub: RedisHub[str] | None = getattr(self, "_signals_hub", None)
        if hub is None:
            hub = RedisHub(self._subscriber, decode=str, timeout=self._timeout)
            self._signals_hub = hub
        return hub

    async def _close_signal_hub(self) -> None:
        """Called by the backend's ``close``: stop the signalling pub/sub reader."""
        hub: RedisHub[str] | None = getattr(self, "_signals_hub", None)
        if hub is not None:
            await hub.close()


def _members(entries: Sequence[str]) -> tuple[Member, ...]:
    """Decoded members, oldest listing first."""
    decoded = sorted((json.loads(raw) for raw in entries), key=lambda entry: float(entry["t"]))
    return tuple(Member(*entry["m"]) for entry in decoded)
