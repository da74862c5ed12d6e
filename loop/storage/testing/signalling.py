"""Contract of :class:`loop.storage.signalling.SignallingStorage`, run against every backend:
the members of a signalling channel and its message bus."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from loop.storage import Storage
from loop.storage.signalling import Member
from loop.storage.testing.factories import T0

TTL = 60.0
WAIT = 5.0


def member(peer: str, participant: str | None = None, data: str | None = '{"x":1}') -> Member:
    return Member(peer, participant or f"p-{peer}", "publisher", data)


class SignallingContract:
    async def test_members_see_the_earlier_ones(self, storage: Storage) -> None:
        first = await storage.add_member("ch", member("a"), now=T0, ttl=TTL)
        second = await storage.add_member("ch", member("b", data=None), now=T0 + 1, ttl=TTL)
        assert (first.peers, first.replaced) == ((), ())
        assert (second.peers, second.replaced) == ((member("a"),), ())
        assert await storage.list_members("ch", now=T0 + 2) == [
            member("a"),
            member("b", data=None),
        ]
        assert await storage.list_members("other", now=T0 + 2) == []

    async def test_one_member_per_participant(self, storage: Storage) -> None:
        await storage.add_member("ch", member("a", "alice"), now=T0, ttl=TTL)
        await storage.add_member("ch", member("b", "bob"), now=T0, ttl=TTL)
        again = await storage.add_member("ch", member("c", "alice"), now=T0 + 1, ttl=TTL)
        assert again.replaced == (member("a", "alice"),)
        assert again.peers == (member("b", "bob"),)
        listed = await storage.list_members("ch", now=T0 + 1)
        assert {m.peer_id for m in listed} == {"b", "c"}

    async def test_members_lapse_unless_renewed(self, storage: Storage) -> None:
        await storage.add_member("ch", member("a"), now=T0, ttl=10)
        await storage.add_member("ch", member("b"), now=T0 + 0.5, ttl=10)
        await storage.renew_members("ch", ["b", "gone"], now=T0 + 5, ttl=10)
        assert await storage.list_members("ch", now=T0 + 9.9) == [member("a"), member("b")]
        assert await storage.list_members("ch", now=T0 + 10) == [member("b")]
        joined = await storage.add_member("ch", member("c"), now=T0 + 12, ttl=10)
        assert joined.peers == (member("b"),)
        assert await storage.list_members("ch", now=T0 + 15) == [member("c")]

    async def test_removed_members_are_gone(self, storage: Storage) -> None:
        await storage.add_member("ch", member("a"), now=T0, ttl=TTL)
        assert await storage.remove_member("ch", "a") is True
        assert await storage.remove_member("ch", "a") is False
        assert await storage.list_members("ch", now=T0) == []
        await storage.renew_members("ch", ["a"], now=T0, ttl=TTL)
        assert await storage.list_members("ch", now=T0) == []

    async def test_messages_reach_the_channels_subscribers_in_order(
        self, storage: Storage
    ) -> None:
        first: asyncio.Queue[str] = asyncio.Queue()
        second: asyncio.Queue[str] = asyncio.Queue()
        elsewhere: list[str] = []
        subscriptions = [
            await storage.subscribe_signals("ch", first.put_nowait),
            await storage.subscribe_signals("ch", second.put_nowait),
            await storage.subscribe_signals("other", elsewhere.append),
        ]
        try:
            for n in range(5):
                await storage.publish_signal("ch", f"m{n}")
            for queue in (first, second):
                received = [await asyncio.wait_for(queue.get(), WAIT) for _ in range(5)]
                assert received == [f"m{n}" for n in range(5)]
            await subscriptions[0].close()
            await subscriptions[0].close()  # closing twice is harmless
            await storage.publish_signal("ch", "after")
            assert await asyncio.wait_for(second.get(), WAIT) == "after"
            assert first.empty()
            assert elsewhere == []
        finally:
            for subscription in subscriptions:
                await subscription.close()


FAULT_CALLS: dict[str, Callable[[Storage], Awaitable[Any]]] = {
    "add_member": lambda s: s.add_member("ch", member("a"), now=T0, ttl=TTL),
    "remove_member": lambda s: s.remove_member("ch", "a"),
    "renew_members": lambda s: s.renew_members("ch", ["a"], now=T0, ttl=TTL),
    "list_members": lambda s: s.list_members("ch", now=T0),
    "publish_signal": lambda s: s.publish_signal("ch", "m"),
    "subscribe_signals": lambda s: s.subscribe_signals("ch", lambda message: None),
}
"""Every :class:`~loop.storage.signalling.SignallingStorage` method, for the fault tests."""
