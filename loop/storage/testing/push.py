"""Push registrations: one record per device, merged by topic, deduplicated per user
(loop-api.md §4.6, §4.7, §8.1 ``spurls.*``; D17 Web Push subscriptions)."""

from __future__ import annotations

from typing import Any

from loop.storage import PushTarget, Storage, Topic
from loop.storage.testing.factories import T0, canonical, make_session, open_session

WEBPUSH: dict[str, Any] = {
    "endpoint": "https://push.example/wp/1",
    "keys": {"p256dh": "BPk", "auth": "au"},
}


class PushContract:
    async def test_unknown_user_has_no_targets(self, storage: Storage) -> None:
        assert await storage.push_targets("nobody", "rooms", now=T0) == []

    async def test_registered_targets_are_read_per_topic(self, storage: Storage) -> None:
        session = make_session()
        await open_session(storage, session, targets={"calls": "http://c", "rooms": "http://r"})
        assert await storage.push_targets(session.user, "calls", now=T0) == ["http://c"]
        assert await storage.push_targets(session.user, "rooms", now=T0) == ["http://r"]

    async def test_topics_not_given_are_kept(self, storage: Storage) -> None:
        session = await open_session(storage, make_session(), targets={"calls": "http://c1"})
        await storage.register_push(session, {"rooms": "http://r"}, now=T0, ttl=100)
        await storage.register_push(session, {"calls": "http://c2"}, now=T0, ttl=100)
        assert await storage.push_targets(session.user, "calls", now=T0) == ["http://c2"]
        assert await storage.push_targets(session.user, "rooms", now=T0) == ["http://r"]

    async def test_registering_nothing_keeps_everything(self, storage: Storage) -> None:
        session = await open_session(storage, make_session(), targets={"rooms": "http://r"})
        await storage.register_push(session, {}, now=T0, ttl=100)
        assert await storage.push_targets(session.user, "rooms", now=T0) == ["http://r"]

    async def test_web_push_subscription_round_trips(self, storage: Storage) -> None:
        session = await open_session(storage, make_session(), targets={"rooms": WEBPUSH})
        assert await storage.push_targets(session.user, "rooms", now=T0) == [WEBPUSH]

    async def test_targets_of_a_users_devices_are_deduplicated(self, storage: Storage) -> None:
        shared: dict[Topic, PushTarget] = {"calls": "http://same", "rooms": WEBPUSH}
        await open_session(storage, make_session("a", user_mac="mac-1"), targets=shared)
        await open_session(storage, make_session("b", user_mac="mac-1"), targets=shared)
        await open_session(
            storage, make_session("c", user_mac="mac-1"), targets={"calls": "http://other"}
        )
        calls = await storage.push_targets("mac-1", "calls", now=T0)
        assert canonical(calls) == canonical(["http://same", "http://other"])
        assert len(calls) == 2
        assert await storage.push_targets("mac-1", "rooms", now=T0) == [WEBPUSH]

    async def test_targets_belong_to_their_user(self, storage: Storage) -> None:
        await open_session(storage, make_session("a", user_mac="mac-1"), targets={"rooms": "u1"})
        await open_session(storage, make_session("b", user_mac="mac-2"), targets={"rooms": "u2"})
        await open_session(storage, make_session("guest"), targets={"rooms": "u3"})
        assert await storage.push_targets("mac-1", "rooms", now=T0) == ["u1"]
        assert await storage.push_targets("mac-2", "rooms", now=T0) == ["u2"]
        assert await storage.push_targets("hawk-guest", "rooms", now=T0) == ["u3"]

    async def test_unregister_forgets_only_this_device(self, storage: Storage) -> None:
        first = await open_session(
            storage, make_session("a", user_mac="mac-1"), targets={"calls": "u1", "rooms": "r1"}
        )
        await open_session(storage, make_session("b", user_mac="mac-1"), targets={"rooms": "r2"})
        await storage.unregister_push(first)
        assert await storage.push_targets("mac-1", "calls", now=T0) == []
        assert await storage.push_targets("mac-1", "rooms", now=T0) == ["r2"]

    async def test_unregister_without_registration_is_not_an_error(self, storage: Storage) -> None:
        session = await open_session(storage, make_session())
        await storage.unregister_push(session)
        assert await storage.push_targets(session.user, "rooms", now=T0) == []

    async def test_register_again_after_unregister(self, storage: Storage) -> None:
        session = await open_session(storage, make_session(), targets={"calls": "u1"})
        await storage.unregister_push(session)
        await storage.register_push(session, {"rooms": "r1"}, now=T0, ttl=100)
        assert await storage.push_targets(session.user, "calls", now=T0) == []
        assert await storage.push_targets(session.user, "rooms", now=T0) == ["r1"]

    async def test_registrations_expire_with_their_session(self, storage: Storage) -> None:
        session = make_session()
        await open_session(storage, session, ttl=100, targets={"rooms": "u1"})
        assert await storage.push_targets(session.user, "rooms", now=T0 + 99.5) == ["u1"]
        assert await storage.push_targets(session.user, "rooms", now=T0 + 100) == []

    async def test_authenticate_touches_registrations(self, storage: Storage) -> None:
        session = make_session()
        await open_session(storage, session, ttl=100, targets={"rooms": "u1"})
        await storage.authenticate(
            session.hawk_id_hmac, nonce="n", now=T0 + 90, ttl=100, nonce_ttl=60
        )
        assert await storage.push_targets(session.user, "rooms", now=T0 + 189.5) == ["u1"]
        assert await storage.push_targets(session.user, "rooms", now=T0 + 190) == []

    async def test_registrations_die_with_a_deleted_session(self, storage: Storage) -> None:
        doomed = await open_session(
            storage, make_session("a", user_mac="mac-1"), targets={"rooms": "u1"}
        )
        await open_session(storage, make_session("b", user_mac="mac-1"), targets={"rooms": "u2"})
        await storage.delete_session(doomed.hawk_id_hmac)
        assert await storage.push_targets("mac-1", "rooms", now=T0) == ["u2"]
