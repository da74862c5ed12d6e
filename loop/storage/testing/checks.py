"""The contract of session checks riding on storage calls (:mod:`loop.storage.checks`):
a Hawk request verified with a remembered key has its session checked (alive, bound as
remembered, nonce new) and touched by its first storage call, atomically with it, and
nothing of that call happens when the check fails."""

from __future__ import annotations

import asyncio

import pytest

from loop.storage import NonceReplayed, Session, SessionCheck, SessionCheckFailed, Storage
from loop.storage.checks import armed
from loop.storage.quotas import TooManyRooms
from loop.storage.sessions import nonce_member
from loop.storage.testing.factories import NONCE_TTL, T0, make_room, make_session
from loop.storage.testing.sessions import auth


def check_for(
    storage: Storage, session: Session, *, now: float = T0 + 1, nonce: str = "n1"
) -> SessionCheck:
    return SessionCheck(
        hawk_id_hmac=session.hawk_id_hmac,
        user_mac=session.user_mac,
        member=nonce_member(int(now), nonce, "mac"),
        nonce_until=now + NONCE_TTL,
        now=now,
        ttl=100,
        alone=storage.check_session,
    )


class SessionCheckContract:
    async def test_a_check_rides_on_the_first_call_and_records_the_request(
        self, storage: Storage
    ) -> None:
        session = make_session()
        await storage.create_session(session, now=T0, ttl=100)
        check = check_for(storage, session)
        with armed(check):
            await storage.create_room(make_room(owner=session.user), now=T0 + 1)
            assert not check.pending
            await check.settle()  # carried: nothing more to do
        assert await storage.get_room("room-1", now=T0 + 1) is not None
        with pytest.raises(NonceReplayed):  # the request was recorded
            await auth(storage, session.hawk_id_hmac, now=T0 + 1, nonce="n1", timestamp=T0 + 1)

    async def test_a_carried_check_touches_the_session(self, storage: Storage) -> None:
        session = make_session()
        await storage.create_session(session, now=T0, ttl=100)
        with armed(check_for(storage, session, now=T0 + 90)):
            await storage.get_room("absent", now=T0 + 90)
        assert await auth(storage, session.hawk_id_hmac, now=T0 + 150) == session

    async def test_a_failed_check_does_nothing_of_its_call(self, storage: Storage) -> None:
        session = make_session()
        with armed(check_for(storage, session)), pytest.raises(SessionCheckFailed) as failed:
            await storage.create_room(make_room(owner=session.user), now=T0 + 1)
        assert failed.value.replayed is False and failed.value.stale is False
        assert await storage.get_room("room-1", now=T0 + 1) is None

    async def test_an_expired_session_fails_its_check(self, storage: Storage) -> None:
        session = make_session()
        await storage.create_session(session, now=T0, ttl=100)
        with armed(check_for(storage, session, now=T0 + 100)), pytest.raises(SessionCheckFailed):
            await storage.get_room("absent", now=T0 + 100)

    async def test_a_deleted_session_fails_its_check(self, storage: Storage) -> None:
        session = make_session()
        await storage.create_session(session, now=T0, ttl=100)
        await storage.delete_session(session.hawk_id_hmac)
        with armed(check_for(storage, session)), pytest.raises(SessionCheckFailed):
            await storage.get_room("absent", now=T0 + 1)

    async def test_a_session_bound_since_fails_its_check(self, storage: Storage) -> None:
        session = make_session()
        await storage.create_session(session, now=T0, ttl=100)
        await storage.bind_identity(
            session.hawk_id_hmac, user_mac="mac-2", encrypted_identity="e", now=T0, ttl=100
        )
        with armed(check_for(storage, session)), pytest.raises(SessionCheckFailed) as failed:
            await storage.create_room(make_room(owner=session.user), now=T0 + 1)
        assert failed.value.stale is True and failed.value.replayed is False
        assert await storage.get_room("room-1", now=T0 + 1) is None
        assert await auth(storage, session.hawk_id_hmac, now=T0 + 1, nonce="n1") is not None

    async def test_a_replayed_request_fails_its_check(self, storage: Storage) -> None:
        session = make_session()
        await storage.create_session(session, now=T0, ttl=100)
        with armed(check_for(storage, session)):
            await storage.get_room("absent", now=T0 + 1)
        with armed(check_for(storage, session)), pytest.raises(SessionCheckFailed) as failed:
            await storage.create_room(make_room(owner=session.user), now=T0 + 1)
        assert failed.value.replayed is True
        assert await storage.get_room("room-1", now=T0 + 1) is None

    async def test_a_refused_call_keeps_its_check(self, storage: Storage) -> None:
        """The call's own refusal (a domain error) does not undo the recorded request."""
        session = make_session()
        await storage.create_session(session, now=T0, ttl=100)
        await storage.create_room(make_room(owner=session.user), now=T0)
        with armed(check_for(storage, session)), pytest.raises(TooManyRooms):
            room = make_room("room-2", owner=session.user)
            await storage.create_room(room, now=T0 + 1, max_rooms=1)
        with pytest.raises(NonceReplayed):
            await auth(storage, session.hawk_id_hmac, now=T0 + 1, nonce="n1", timestamp=T0 + 1)

    async def test_only_the_first_call_carries_the_check(self, storage: Storage) -> None:
        session = make_session()
        await storage.create_session(session, now=T0, ttl=100)
        with armed(check_for(storage, session)):
            first, second = await asyncio.gather(
                storage.get_room("absent", now=T0 + 1),
                storage.create_room(make_room(owner=session.user), now=T0 + 1),
            )
        assert first is None and second is not None

    async def test_calls_after_a_failed_check_fail_too(self, storage: Storage) -> None:
        session = make_session()
        with armed(check_for(storage, session)):
            outcomes = await asyncio.gather(
                storage.get_room("absent", now=T0 + 1),
                storage.create_room(make_room(owner=session.user), now=T0 + 1),
                return_exceptions=True,
            )
        assert all(isinstance(outcome, SessionCheckFailed) for outcome in outcomes)
        assert await storage.get_room("room-1", now=T0 + 1) is None

    async def test_a_check_settles_alone_when_no_call_carried_it(self, storage: Storage) -> None:
        session = make_session()
        await storage.create_session(session, now=T0, ttl=100)
        check = check_for(storage, session)
        await check.settle()
        replay = check_for(storage, session)
        with pytest.raises(SessionCheckFailed) as failed:
            await replay.settle()
        assert failed.value.replayed is True
        with pytest.raises(SessionCheckFailed):
            await check_for(storage, make_session("device-2")).settle()

    async def test_sessions_seen_are_remembered_until_deleted_or_bound(
        self, storage: Storage
    ) -> None:
        session, other = make_session(), make_session("device-2")
        await storage.create_session(session, now=T0, ttl=100)
        assert storage.known_sessions.get(session.hawk_id_hmac) == session
        await storage.delete_session(session.hawk_id_hmac)
        assert storage.known_sessions.get(session.hawk_id_hmac) is None
        await storage.create_session(other, now=T0, ttl=100)
        storage.known_sessions.forget(other.hawk_id_hmac)
        assert await auth(storage, other.hawk_id_hmac, now=T0 + 1) == other
        assert storage.known_sessions.get(other.hawk_id_hmac) == other
        await storage.bind_identity(
            other.hawk_id_hmac, user_mac="mac-2", encrypted_identity="e", now=T0, ttl=100
        )
        assert storage.known_sessions.get(other.hawk_id_hmac) is None
