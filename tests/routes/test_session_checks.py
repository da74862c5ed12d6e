"""Hawk requests of a session this process remembers cost one storage round trip: the
session check rides on the request's first storage call (loop/storage/checks.py). These
tests pin the bound that buys: none. A session revoked by another process is refused at
its very next request, and nothing of that request is done."""

from __future__ import annotations

from loop.storage import Session
from tests.routes.conftest import Harness
from tests.support.client import HawkSession, assert_error
from tests.support.rooms import ROOM, create_room, user_key


async def revoked_elsewhere(harness: Harness, session: HawkSession) -> Session:
    """Delete ``session`` as another process would: this process still remembers it."""
    storage = harness.services.storage
    remembered = storage.known_sessions.get(user_key(harness, session))
    assert remembered is not None
    await storage.delete_session(remembered.hawk_id_hmac)
    storage.known_sessions.remember(remembered)
    return remembered


async def signed_in_elsewhere(harness: Harness, session: HawkSession) -> Session:
    """Bind ``session`` to a user as another process would: this one still remembers it
    as the guest it was."""
    storage = harness.services.storage
    remembered = storage.known_sessions.get(user_key(harness, session))
    assert remembered is not None
    await storage.bind_identity(
        remembered.hawk_id_hmac,
        user_mac="someone",
        encrypted_identity="sealed",
        now=harness.clock.now(),
        ttl=harness.services.settings.hawk_session_duration,
    )
    storage.known_sessions.remember(remembered)
    return remembered


async def rooms_of(harness: Harness, session: Session) -> int:
    found = await harness.services.storage.list_rooms(
        session.user, since=None, now=harness.clock.now()
    )
    return len(found.rooms)


async def test_a_request_of_a_remembered_session_is_one_round_trip(harness: Harness) -> None:
    owner = await harness.client.register()
    await create_room(harness, owner)  # Redis: the connection's secrets claim and
    await harness.client.get("/rooms", hawk=owner)  # the scripts' first EVALs done
    stats = harness.services.storage.stats
    before = stats.round_trips
    await create_room(harness, owner)
    assert stats.round_trips - before == 1
    before = stats.round_trips
    response = await harness.client.get("/rooms", hawk=owner)
    assert response.status_code == 200
    assert stats.round_trips - before == 1


async def test_a_session_revoked_elsewhere_is_refused_at_once(harness: Harness) -> None:
    owner = await harness.client.register()
    session = await revoked_elsewhere(harness, owner)
    response = await harness.client.post("/rooms", json=ROOM, hawk=owner)
    assert_error(response, 401, 110, "Unknown credentials")
    assert response.headers["www-authenticate"] == 'Hawk error="Unknown credentials"'
    assert "server-authorization" not in response.headers
    assert await rooms_of(harness, session) == 0
    assert harness.services.storage.known_sessions.get(session.hawk_id_hmac) is None


async def test_an_answer_without_storage_call_still_checks_the_session(
    harness: Harness,
) -> None:
    """A 400 for a bad body comes after Hawk; the session check is made before it goes."""
    owner = await harness.client.register()
    bad = await harness.client.post("/rooms", json={"roomName": 3}, hawk=owner)
    assert bad.status_code == 400
    await revoked_elsewhere(harness, owner)
    response = await harness.client.post("/rooms", json={"roomName": 3}, hawk=owner)
    assert_error(response, 401, 110, "Unknown credentials")


async def test_a_replayed_request_is_refused_and_does_nothing(harness: Harness) -> None:
    owner = await harness.client.register()
    storage = harness.services.storage
    session = storage.known_sessions.get(user_key(harness, owner))
    assert session is not None
    first = await harness.client.post("/rooms", json=ROOM, hawk=owner, nonce="once")
    assert first.status_code == 201
    again = await harness.client.post("/rooms", json=ROOM, hawk=owner, nonce="once")
    assert_error(again, 401, 110, "Invalid nonce")
    assert await rooms_of(harness, session) == 1


async def test_a_session_bound_elsewhere_is_served_looked_up_afresh(
    harness: Harness,
) -> None:
    """Another process signed the session in: this one's memory of it is stale. Nothing of
    the request is done as the old user; it is served again with the session looked up,
    as the new one, and the client never sees a refusal."""
    owner = await harness.client.register()
    storage = harness.services.storage
    remembered = await signed_in_elsewhere(harness, owner)
    response = await harness.client.post("/rooms", json=ROOM, hawk=owner)
    assert response.status_code == 201, response.text
    assert response.headers["server-authorization"].startswith('Hawk mac="')
    assert await rooms_of(harness, remembered) == 0
    bound = storage.known_sessions.get(remembered.hawk_id_hmac)
    assert bound is not None and bound.user == "someone"
    assert await rooms_of(harness, bound) == 1


async def test_a_refusal_decided_on_a_stale_session_is_decided_again(harness: Harness) -> None:
    """``DELETE /session`` wants a signed-in session: this process remembers a guest, so
    the route refuses (403) before any storage call; the check made before that answer
    finds the session signed in elsewhere, and the request is served again: 204."""
    owner = await harness.client.register()
    await signed_in_elsewhere(harness, owner)
    response = await harness.client.delete("/session", hawk=owner)
    assert response.status_code == 204, response.text
    gone = await harness.client.get("/rooms", hawk=owner)
    assert_error(gone, 401, 110, "Unknown credentials")
