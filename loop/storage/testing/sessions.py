"""The contract of :class:`~loop.storage.sessions.SessionStorage`: Hawk sessions (lookup,
touch, nonce replay, identity binding: loop-api.md §3.2-3.3, D15) and push registrations
(one record per device, merged by topic, deduplicated per user: loop-api.md §4.6, §4.7,
§8.1 ``spurls.*``; D17 Web Push subscriptions)."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from loop.storage import NonceReplayed, PushTarget, Session, SessionCheck, Storage, Topic
from loop.storage.testing.factories import (
    NONCE_TTL,
    T0,
    canonical,
    make_session,
    open_session,
)


async def auth(
    storage: Storage,
    hawk_id_hmac: str,
    *,
    now: float,
    nonce: str = "",
    ttl: float = 100,
    timestamp: int = T0,
    mac: str = "mac",
    nonce_until: float | None = None,
) -> Session | None:
    """Authenticate a request with a nonce of its own (one per ``now``) unless one is
    given, remembered ``NONCE_TTL`` seconds unless told."""
    return await storage.authenticate(
        hawk_id_hmac,
        timestamp=timestamp,
        nonce=nonce or f"nonce-{now}",
        mac=mac,
        now=now,
        ttl=ttl,
        nonce_until=now + NONCE_TTL if nonce_until is None else nonce_until,
    )


class HawkSessionContract:
    async def test_unknown_session_authenticates_to_none(self, storage: Storage) -> None:
        assert await auth(storage, "hawk-unknown", now=T0) is None

    async def test_created_session_authenticates_to_itself(self, storage: Storage) -> None:
        session = make_session()
        await storage.create_session(session, now=T0, ttl=100)
        assert await auth(storage, session.hawk_id_hmac, now=T0 + 1) == session

    async def test_session_created_bound_keeps_its_identity(self, storage: Storage) -> None:
        session = make_session(user_mac="user-mac-1")
        await storage.create_session(session, now=T0, ttl=100)
        found = await auth(storage, session.hawk_id_hmac, now=T0)
        assert found == session
        assert found is not None and found.user == "user-mac-1"

    async def test_session_is_alive_strictly_before_expires_at(self, storage: Storage) -> None:
        first, second = make_session("a"), make_session("b")
        await storage.create_session(first, now=T0, ttl=100)
        await storage.create_session(second, now=T0, ttl=100)
        assert await auth(storage, first.hawk_id_hmac, now=T0 + 99.5) == first
        assert await auth(storage, second.hawk_id_hmac, now=T0 + 100) is None

    async def test_authenticate_touches_the_session(self, storage: Storage) -> None:
        session = make_session()
        await storage.create_session(session, now=T0, ttl=100)
        assert await auth(storage, session.hawk_id_hmac, now=T0 + 90, ttl=100) == session
        assert await auth(storage, session.hawk_id_hmac, now=T0 + 189.5) == session
        assert await auth(storage, session.hawk_id_hmac, now=T0 + 289.5 + 1) is None

    async def test_touch_uses_the_ttl_given_on_authenticate(self, storage: Storage) -> None:
        session = make_session()
        await storage.create_session(session, now=T0, ttl=100)
        assert await auth(storage, session.hawk_id_hmac, now=T0 + 10, ttl=1000) == session
        assert await auth(storage, session.hawk_id_hmac, now=T0 + 1009, ttl=1) == session
        assert await auth(storage, session.hawk_id_hmac, now=T0 + 1010) is None

    async def test_replayed_nonce_is_refused(self, storage: Storage) -> None:
        session = make_session()
        await storage.create_session(session, now=T0, ttl=100)
        await auth(storage, session.hawk_id_hmac, now=T0 + 1, nonce="n1")
        with pytest.raises(NonceReplayed):
            await auth(storage, session.hawk_id_hmac, now=T0 + 2, nonce="n1")

    async def test_distinct_nonces_are_accepted(self, storage: Storage) -> None:
        session = make_session()
        await storage.create_session(session, now=T0, ttl=100)
        for index in range(5):
            found = await auth(storage, session.hawk_id_hmac, now=T0 + 1, nonce=f"n{index}")
            assert found == session

    async def test_replay_does_not_touch_the_session(self, storage: Storage) -> None:
        session = make_session()
        await storage.create_session(session, now=T0, ttl=100)
        await auth(storage, session.hawk_id_hmac, now=T0 + 50, nonce="n1", ttl=100)
        with pytest.raises(NonceReplayed):
            await auth(storage, session.hawk_id_hmac, now=T0 + 60, nonce="n1", ttl=100)
        assert await auth(storage, session.hawk_id_hmac, now=T0 + 150) is None

    async def test_nonce_is_forgotten_after_nonce_ttl(self, storage: Storage) -> None:
        session = make_session()
        await storage.create_session(session, now=T0, ttl=1000)
        await auth(storage, session.hawk_id_hmac, now=T0, nonce="n1", ttl=1000)
        with pytest.raises(NonceReplayed):
            await auth(storage, session.hawk_id_hmac, now=T0 + NONCE_TTL - 0.5, nonce="n1")
        found = await auth(storage, session.hawk_id_hmac, now=T0 + NONCE_TTL, nonce="n1")
        assert found == session

    async def test_same_nonce_on_another_session_is_accepted(self, storage: Storage) -> None:
        first, second = make_session("a"), make_session("b")
        await storage.create_session(first, now=T0, ttl=100)
        await storage.create_session(second, now=T0, ttl=100)
        assert await auth(storage, first.hawk_id_hmac, now=T0, nonce="shared") == first
        assert await auth(storage, second.hawk_id_hmac, now=T0, nonce="shared") == second

    async def test_unknown_session_records_no_nonce(self, storage: Storage) -> None:
        session = make_session()
        assert await auth(storage, session.hawk_id_hmac, now=T0, nonce="n1") is None
        await storage.create_session(session, now=T0, ttl=100)
        assert await auth(storage, session.hawk_id_hmac, now=T0 + 1, nonce="n1") == session

    async def test_another_mac_with_the_same_nonce_is_accepted(self, storage: Storage) -> None:
        """The key to check a MAC is only known after the lookup: a request with a wrong
        MAC must not burn the nonce of the genuine one, while a replay has the same MAC."""
        session = make_session()
        await storage.create_session(session, now=T0, ttl=100)
        assert await auth(storage, session.hawk_id_hmac, now=T0, nonce="n1", mac="forged")
        assert await auth(storage, session.hawk_id_hmac, now=T0, nonce="n1", mac="genuine")
        with pytest.raises(NonceReplayed):
            await auth(storage, session.hawk_id_hmac, now=T0 + 1, nonce="n1", mac="genuine")

    async def test_same_nonce_with_another_timestamp_is_accepted(self, storage: Storage) -> None:
        """Hawk nonces are unique per credentials, timestamp and nonce."""
        session = make_session()
        await storage.create_session(session, now=T0, ttl=100)
        assert await auth(storage, session.hawk_id_hmac, now=T0, nonce="n1") == session
        found = await auth(storage, session.hawk_id_hmac, now=T0, nonce="n1", timestamp=T0 + 1)
        assert found == session
        with pytest.raises(NonceReplayed):
            await auth(storage, session.hawk_id_hmac, now=T0 + 1, nonce="n1", timestamp=T0 + 1)

    async def test_nonce_is_remembered_until_nonce_until(self, storage: Storage) -> None:
        """Until its timestamp can no longer be accepted, however late it was first used."""
        session = make_session()
        await storage.create_session(session, now=T0, ttl=1000)
        until = T0 + 121
        await auth(storage, session.hawk_id_hmac, now=T0, nonce="n1", nonce_until=until, ttl=1000)
        with pytest.raises(NonceReplayed):
            await auth(storage, session.hawk_id_hmac, now=until - 0.1, nonce="n1")
        found = await auth(storage, session.hawk_id_hmac, now=until, nonce="n1")
        assert found == session

    async def test_a_request_past_its_nonce_until_is_not_recorded(self, storage: Storage) -> None:
        """Its timestamp can no longer be accepted: nothing to remember."""
        session = make_session()
        await storage.create_session(session, now=T0, ttl=1000)
        for _ in range(2):
            found = await auth(storage, session.hawk_id_hmac, now=T0, nonce="n", nonce_until=T0)
            assert found == session

    async def test_bind_identity_makes_the_session_act_as_the_user(self, storage: Storage) -> None:
        session = make_session()
        await storage.create_session(session, now=T0, ttl=100)
        await storage.bind_identity(
            session.hawk_id_hmac, user_mac="mac-1", encrypted_identity="enc-1", now=T0, ttl=100
        )
        found = await auth(storage, session.hawk_id_hmac, now=T0 + 1)
        expected = dataclasses.replace(session, user_mac="mac-1", encrypted_identity="enc-1")
        assert found == expected
        assert found is not None and found.registered and found.user == "mac-1"

    async def test_bind_identity_sets_the_session_lifetime(self, storage: Storage) -> None:
        session = make_session()
        await storage.create_session(session, now=T0, ttl=100)
        await storage.bind_identity(
            session.hawk_id_hmac, user_mac="mac-1", encrypted_identity="e", now=T0 + 50, ttl=100
        )
        assert await auth(storage, session.hawk_id_hmac, now=T0 + 149.5) is not None
        assert await auth(storage, session.hawk_id_hmac, now=T0 + 249.5 + 1) is None

    async def test_bind_identity_does_not_revive_an_expired_session(
        self, storage: Storage
    ) -> None:
        session = make_session()
        await storage.create_session(session, now=T0, ttl=100)
        await storage.bind_identity(
            session.hawk_id_hmac, user_mac="mac-1", encrypted_identity="e", now=T0 + 150, ttl=100
        )
        assert await auth(storage, session.hawk_id_hmac, now=T0 + 160) is None

    async def test_bind_identity_of_unknown_session_creates_nothing(
        self, storage: Storage
    ) -> None:
        await storage.bind_identity(
            "hawk-unknown", user_mac="mac-1", encrypted_identity="e", now=T0, ttl=100
        )
        assert await auth(storage, "hawk-unknown", now=T0 + 1) is None

    async def test_bind_identity_leaves_other_sessions_alone(self, storage: Storage) -> None:
        first, second = make_session("a"), make_session("b")
        await storage.create_session(first, now=T0, ttl=100)
        await storage.create_session(second, now=T0, ttl=100)
        await storage.bind_identity(
            first.hawk_id_hmac, user_mac="mac-1", encrypted_identity="e", now=T0, ttl=100
        )
        assert await auth(storage, second.hawk_id_hmac, now=T0 + 1) == second

    async def test_deleted_session_no_longer_authenticates(self, storage: Storage) -> None:
        first, second = make_session("a"), make_session("b")
        await storage.create_session(first, now=T0, ttl=100)
        await storage.create_session(second, now=T0, ttl=100)
        await storage.delete_session(first.hawk_id_hmac)
        assert await auth(storage, first.hawk_id_hmac, now=T0 + 1) is None
        assert await auth(storage, second.hawk_id_hmac, now=T0 + 1) == second

    async def test_deleting_an_unknown_session_is_not_an_error(self, storage: Storage) -> None:
        await storage.delete_session("hawk-unknown")
        assert await auth(storage, "hawk-unknown", now=T0) is None

    async def test_recreated_session_starts_afresh(self, storage: Storage) -> None:
        session = make_session(user_mac="mac-1")
        await storage.create_session(session, now=T0, ttl=100)
        await storage.delete_session(session.hawk_id_hmac)
        fresh = make_session()
        await storage.create_session(fresh, now=T0 + 1, ttl=100)
        assert await auth(storage, fresh.hawk_id_hmac, now=T0 + 2, nonce="n") == fresh


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
        await auth(storage, session.hawk_id_hmac, now=T0 + 90, ttl=100)
        assert await storage.push_targets(session.user, "rooms", now=T0 + 189.5) == ["u1"]
        assert await storage.push_targets(session.user, "rooms", now=T0 + 190) == []

    async def test_registrations_die_with_a_deleted_session(self, storage: Storage) -> None:
        doomed = await open_session(
            storage, make_session("a", user_mac="mac-1"), targets={"rooms": "u1"}
        )
        await open_session(storage, make_session("b", user_mac="mac-1"), targets={"rooms": "u2"})
        await storage.delete_session(doomed.hawk_id_hmac)
        assert await storage.push_targets("mac-1", "rooms", now=T0) == ["u2"]


class PushAtCreationContract:
    """``create_session(push=...)``: a new device's first push registration, stored by the
    call that creates its session (a new session's ``/registration``, issue 13) exactly as
    :meth:`~loop.storage.sessions.SessionStorage.register_push` would store it after."""

    async def test_targets_given_at_creation_are_read_per_topic(self, storage: Storage) -> None:
        session = make_session()
        push: dict[Topic, PushTarget] = {"calls": "http://c", "rooms": WEBPUSH}
        await storage.create_session(session, now=T0, ttl=100, push=push)
        assert await storage.push_targets(session.user, "calls", now=T0) == ["http://c"]
        assert await storage.push_targets(session.user, "rooms", now=T0) == [WEBPUSH]
        assert await auth(storage, session.hawk_id_hmac, now=T0 + 1) == session

    async def test_a_bound_session_registers_them_as_its_user(self, storage: Storage) -> None:
        laptop = make_session("laptop", user_mac="mac-1")
        await storage.create_session(laptop, now=T0, ttl=100, push={"rooms": "http://laptop"})
        await open_session(
            storage, make_session("phone", user_mac="mac-1"), targets={"rooms": "http://phone"}
        )
        rooms = await storage.push_targets("mac-1", "rooms", now=T0)
        assert canonical(rooms) == canonical(["http://laptop", "http://phone"])
        assert await storage.push_targets(laptop.hawk_id_hmac, "rooms", now=T0) == []

    async def test_they_live_as_long_as_their_session(self, storage: Storage) -> None:
        session = make_session()
        await storage.create_session(session, now=T0, ttl=100, push={"rooms": "u1"})
        assert await storage.push_targets(session.user, "rooms", now=T0 + 99.5) == ["u1"]
        assert await storage.push_targets(session.user, "rooms", now=T0 + 100) == []

    async def test_they_follow_the_session_when_it_is_touched(self, storage: Storage) -> None:
        session = make_session()
        await storage.create_session(session, now=T0, ttl=100, push={"rooms": "u1"})
        await auth(storage, session.hawk_id_hmac, now=T0 + 90, ttl=100)
        assert await storage.push_targets(session.user, "rooms", now=T0 + 189.5) == ["u1"]
        assert await storage.push_targets(session.user, "rooms", now=T0 + 190) == []

    async def test_they_merge_and_unregister_as_registered_ones(self, storage: Storage) -> None:
        session = make_session()
        push: dict[Topic, PushTarget] = {"calls": "http://c1", "rooms": "http://r"}
        await storage.create_session(session, now=T0, ttl=100, push=push)
        await storage.register_push(session, {"calls": "http://c2"}, now=T0, ttl=100)
        assert await storage.push_targets(session.user, "calls", now=T0) == ["http://c2"]
        assert await storage.push_targets(session.user, "rooms", now=T0) == ["http://r"]
        await storage.unregister_push(session)
        assert await storage.push_targets(session.user, "calls", now=T0) == []
        assert await storage.push_targets(session.user, "rooms", now=T0) == []

    async def test_they_die_with_their_deleted_session(self, storage: Storage) -> None:
        doomed = make_session("a", user_mac="mac-1")
        await storage.create_session(doomed, now=T0, ttl=100, push={"rooms": "u1"})
        await open_session(storage, make_session("b", user_mac="mac-1"), targets={"rooms": "u2"})
        await storage.delete_session(doomed.hawk_id_hmac)
        assert await storage.push_targets("mac-1", "rooms", now=T0) == ["u2"]

    async def test_no_targets_at_creation_register_none(self, storage: Storage) -> None:
        nothing: tuple[dict[Topic, PushTarget] | None, ...] = ({}, None)
        for n, push in enumerate(nothing):
            session = make_session(f"d{n}")
            await storage.create_session(session, now=T0, ttl=100, push=push)
            assert await storage.push_targets(session.user, "calls", now=T0) == []
            assert await storage.push_targets(session.user, "rooms", now=T0) == []
            assert await auth(storage, session.hawk_id_hmac, now=T0 + 1) == session


class SessionContract(HawkSessionContract, PushContract, PushAtCreationContract):
    """Everything :class:`~loop.storage.sessions.SessionStorage` must do."""


SESSION = make_session(user_mac="mac-1")

FAULT_CALLS: dict[str, Callable[[Storage], Awaitable[Any]]] = {
    "create_session": lambda s: s.create_session(SESSION, now=T0, ttl=100),
    "authenticate": lambda s: auth(s, SESSION.hawk_id_hmac, now=T0, nonce="n"),
    "check_session": lambda s: s.check_session(
        SessionCheck(SESSION.hawk_id_hmac, None, "m", T0 + 60, T0, 100, s.check_session)
    ),
    "bind_identity": lambda s: s.bind_identity(
        SESSION.hawk_id_hmac, user_mac="mac-1", encrypted_identity="e", now=T0, ttl=100
    ),
    "delete_session": lambda s: s.delete_session(SESSION.hawk_id_hmac),
    "register_push": lambda s: s.register_push(SESSION, {"rooms": "r"}, now=T0, ttl=100),
    "unregister_push": lambda s: s.unregister_push(SESSION),
    "push_targets": lambda s: s.push_targets("mac-1", "rooms", now=T0),
}
"""Every :class:`~loop.storage.sessions.SessionStorage` method, for the fault tests."""
