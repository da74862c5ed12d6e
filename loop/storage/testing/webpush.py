"""Contract of :class:`loop.storage.webpush.WebPushStorage`, run against every backend:
forgetting a subscription the push service reported gone (404/410, RFC 8030 §7.3)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from loop.storage import Storage
from loop.storage.testing.factories import T0, canonical, make_session, open_session


def subscription(name: str) -> dict[str, Any]:
    return {"endpoint": f"https://push.example/wp/{name}", "keys": {"p256dh": "BP", "auth": "a"}}


DEAD = subscription("dead")
ALIVE = subscription("alive")


class WebPushContract:
    async def test_forget_removes_the_target_from_every_device_and_topic(
        self, storage: Storage
    ) -> None:
        await open_session(
            storage, make_session("a", user_mac="mac-1"), targets={"calls": DEAD, "rooms": DEAD}
        )
        await open_session(storage, make_session("b", user_mac="mac-1"), targets={"rooms": DEAD})

        assert await storage.forget_push_target("mac-1", DEAD, now=T0) == 3

        assert await storage.push_targets("mac-1", "calls", now=T0) == []
        assert await storage.push_targets("mac-1", "rooms", now=T0) == []

    async def test_forget_keeps_the_devices_other_targets(self, storage: Storage) -> None:
        await open_session(
            storage,
            make_session("a", user_mac="mac-1"),
            targets={"calls": "http://simple", "rooms": DEAD},
        )
        await open_session(storage, make_session("b", user_mac="mac-1"), targets={"rooms": ALIVE})

        assert await storage.forget_push_target("mac-1", DEAD, now=T0) == 1

        assert await storage.push_targets("mac-1", "calls", now=T0) == ["http://simple"]
        assert await storage.push_targets("mac-1", "rooms", now=T0) == [ALIVE]

    async def test_forget_compares_subscriptions_by_value(self, storage: Storage) -> None:
        await open_session(storage, make_session("a", user_mac="mac-1"), targets={"rooms": DEAD})
        reordered = {"keys": {"auth": "a", "p256dh": "BP"}, "endpoint": DEAD["endpoint"]}

        assert await storage.forget_push_target("mac-1", reordered, now=T0) == 1
        assert await storage.push_targets("mac-1", "rooms", now=T0) == []

    async def test_forget_only_touches_that_user(self, storage: Storage) -> None:
        await open_session(storage, make_session("a", user_mac="mac-1"), targets={"rooms": DEAD})
        await open_session(storage, make_session("b", user_mac="mac-2"), targets={"rooms": DEAD})

        await storage.forget_push_target("mac-1", DEAD, now=T0)

        assert await storage.push_targets("mac-1", "rooms", now=T0) == []
        assert await storage.push_targets("mac-2", "rooms", now=T0) == [DEAD]

    async def test_forget_an_unknown_target_or_user_changes_nothing(
        self, storage: Storage
    ) -> None:
        await open_session(storage, make_session("a", user_mac="mac-1"), targets={"rooms": ALIVE})

        assert await storage.forget_push_target("mac-1", DEAD, now=T0) == 0
        assert await storage.forget_push_target("nobody", ALIVE, now=T0) == 0
        assert await storage.forget_push_target("mac-1", "http://never", now=T0) == 0

        assert await storage.push_targets("mac-1", "rooms", now=T0) == [ALIVE]

    async def test_forget_works_for_simplepush_urls_too(self, storage: Storage) -> None:
        await open_session(
            storage, make_session("a", user_mac="mac-1"), targets={"rooms": "http://u1"}
        )
        assert await storage.forget_push_target("mac-1", "http://u1", now=T0) == 1
        assert await storage.push_targets("mac-1", "rooms", now=T0) == []

    async def test_a_device_registers_again_after_forget(self, storage: Storage) -> None:
        session = await open_session(
            storage, make_session("a", user_mac="mac-1"), targets={"rooms": DEAD}
        )
        await storage.forget_push_target("mac-1", DEAD, now=T0)

        await storage.register_push(session, {"calls": ALIVE}, now=T0, ttl=100)

        assert await storage.push_targets("mac-1", "calls", now=T0) == [ALIVE]
        assert await storage.push_targets("mac-1", "rooms", now=T0) == []

    async def test_deleting_a_session_after_forget_is_clean(self, storage: Storage) -> None:
        """The device left the user's index; deleting its session must still work."""
        gone = await open_session(
            storage, make_session("a", user_mac="mac-1"), targets={"rooms": DEAD}
        )
        await open_session(storage, make_session("b", user_mac="mac-1"), targets={"rooms": ALIVE})
        await storage.forget_push_target("mac-1", DEAD, now=T0)

        await storage.delete_session(gone.hawk_id_hmac)

        assert canonical(await storage.push_targets("mac-1", "rooms", now=T0)) == canonical(
            [ALIVE]
        )


FAULT_CALLS: dict[str, Callable[[Storage], Awaitable[Any]]] = {
    "forget_push_target": lambda s: s.forget_push_target("mac-1", "r", now=T0),
}
"""Every :class:`~loop.storage.webpush.WebPushStorage` method, for the fault tests."""
