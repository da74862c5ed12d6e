"""Hawk sessions: lookup, touch, nonce replay, identity binding (loop-api.md §3.2-3.3, D15)."""

from __future__ import annotations

import dataclasses

import pytest

from loop.storage import NonceReplayed, Session, Storage
from loop.storage.testing.factories import NONCE_TTL, T0, make_session


async def auth(
    storage: Storage, hawk_id_hmac: str, *, now: float, nonce: str = "", ttl: float = 100
) -> Session | None:
    """Authenticate with a nonce of its own (one per ``now``) unless one is given."""
    return await storage.authenticate(
        hawk_id_hmac, nonce=nonce or f"nonce-{now}", now=now, ttl=ttl, nonce_ttl=NONCE_TTL
    )


class SessionsContract:
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
