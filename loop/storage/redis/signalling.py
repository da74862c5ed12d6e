"""The Redis side of :class:`loop.storage.signalling.SignallingStorage`.

A mixin of :class:`loop.storage.redis.RedisStorage`. Keys:

* ``sg:{<channel>}:m`` hash peer id -> JSON ``{"m": [peer, participant, role, data],
  "e": expiry, "t": listing time}``; the hash itself expires with its last member.

Messages travel on the pub/sub channel ``sg:<channel>``, through the process's own
subscriber connection (:class:`SignalHub`, the calls' hub with string messages): one
connection and one reader task per process, whatever the number of sockets.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from loop.storage.calls import CallSubscription
from loop.storage.redis.codec import number
from loop.storage.redis.errors import wrap_redis_error as _wrap
from loop.storage.redis.pubsub import RedisHub
from loop.storage.redis.scripts import Script, _script
from loop.storage.signalling import Admission, Member, SignalListener

if TYPE_CHECKING:
    import redis.asyncio

# KEYS: members. ARGV: now, peer id, participant, entry JSON, ttl ms.
# Returns {peers' entries, replaced entries} (JSON strings).
ADD_MEMBER = _script(
    "signal_add_member",
    """
local peers, replaced = {}, {}
local listed = redis.call('HGETALL', KEYS[1])
for i = 1, #listed, 2 do
  local entry = cjson.decode(listed[i + 1])
  if tonumber(entry['e']) <= now then
    redis.call('HDEL', KEYS[1], listed[i])
  elseif entry['m'][2] == ARGV[3] then
    redis.call('HDEL', KEYS[1], listed[i])
    replaced[#replaced + 1] = listed[i + 1]
  else
    peers[#peers + 1] = listed[i + 1]
  end
end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[4])
extend(KEYS[1], tonumber(ARGV[5]))
return {peers, replaced}
""",
)

# KEYS: members. ARGV: now, expiry, ttl ms, peer ids...
RENEW_MEMBERS = _script(
    "signal_renew_members",
    """
for i = 4, #ARGV do
  local raw = redis.call('HGET', KEYS[1], ARGV[i])
  if raw then
    local entry = cjson.decode(raw)
    entry['e'] = ARGV[2]
    redis.call('HSET', KEYS[1], ARGV[i], cjson.encode(entry))
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then extend(KEYS[1], tonumber(ARGV[3])) end
""",
)


class SignalHub(RedisHub):
    """:class:`RedisHub` delivering each message's text as it is, not as call progress."""

    def _dispatch(self, message: dict[str, Any]) -> None:
        if message.get("type") == "message":
            text = str(message["data"])
            self._local.publish(str(message.get("channel")), text)  # type: ignore[arg-type]
            return
        super()._dispatch(message)


class RedisSignallingStorage:
    if TYPE_CHECKING:
        _client: redis.asyncio.Redis

        async def _run(self, script: Script, keys: Sequence[str], *args: str) -> Any: ...

        def _count(self) -> None: ...

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
            [_members_key(channel)],
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
        return bool(await self._client.hdel(_members_key(channel), peer_id))

    @_wrap
    async def renew_members(
        self, channel: str, peer_ids: Sequence[str], *, now: float, ttl: float
    ) -> None:
        if peer_ids:
            keys = [_members_key(channel)]
            expiry, ms = number(now + ttl), str(int(ttl * 1000))
            await self._run(RENEW_MEMBERS, keys, number(now), expiry, ms, *peer_ids)

    @_wrap
    async def list_members(self, channel: str, *, now: float) -> list[Member]:
        self._count()
        listed = await self._client.hvals(_members_key(channel))
        live = [str(raw) for raw in listed if float(json.loads(raw)["e"]) > now]
        return list(_members(live))

    @_wrap
    async def publish_signal(self, channel: str, message: str) -> None:
        self._count()
        await self._client.publish(_bus(channel), message)

    async def subscribe_signals(self, channel: str, listener: SignalListener) -> CallSubscription:
        self._count()
        return await self._signal_hub().subscribe(_bus(channel), listener)  # type: ignore[arg-type]

    def _signal_hub(self) -> SignalHub:
        hub: SignalHub | None = getattr(self, "_signals_hub", None)
        if hub is None:
            hub = SignalHub(self._client)
            self._signals_hub = hub
        return hub

    async def _close_signal_hub(self) -> None:
        """Called by the backend's ``close``: stop the signalling pub/sub reader."""
        hub: SignalHub | None = getattr(self, "_signals_hub", None)
        if hub is not None:
            await hub.close()


def _members_key(channel: str) -> str:
    return f"sg:{{{channel}}}:m"


def _bus(channel: str) -> str:
    return f"sg:{channel}"


def _members(entries: Sequence[str]) -> tuple[Member, ...]:
    """Decoded members, oldest listing first."""
    decoded = sorted((json.loads(raw) for raw in entries), key=lambda entry: float(entry["t"]))
    return tuple(Member(*entry["m"]) for entry in decoded)
