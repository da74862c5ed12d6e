"""Contract of :class:`loop.storage.accounts.AccountStorage`, run against every backend:
OAuth sessions (loop-api.md §3.8) and account deletion (decisions D13)."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from loop.storage import TOPICS, Storage
from loop.storage.accounts import OAuthRecord
from loop.storage.testing.factories import (
    DELETED_TTL,
    T0,
    canonical,
    join,
    make_participant,
    make_room,
    make_session,
    open_session,
)
from loop.storage.testing.sessions import auth

TTL = 100.0


class OAuthContract:
    async def test_a_plain_session_has_no_oauth_record(self, storage: Storage) -> None:
        assert await storage.get_oauth("hawk-1", now=T0) is None

    async def test_start_stores_the_state(self, storage: Storage) -> None:
        assert await storage.start_oauth("hawk-1", state="s1", now=T0, ttl=TTL) == "s1"
        assert await storage.get_oauth("hawk-1", now=T0 + 1) == OAuthRecord("s1")

    async def test_start_keeps_a_live_state(self, storage: Storage) -> None:
        await storage.start_oauth("hawk-1", state="s1", now=T0, ttl=TTL)
        assert await storage.start_oauth("hawk-1", state="s2", now=T0 + 1, ttl=TTL) == "s1"
        assert await storage.get_oauth("hawk-1", now=T0 + 2) == OAuthRecord("s1")

    async def test_state_lives_ttl_seconds(self, storage: Storage) -> None:
        await storage.start_oauth("hawk-1", state="s1", now=T0, ttl=TTL)
        assert await storage.get_oauth("hawk-1", now=T0 + TTL - 0.5) is not None
        assert await storage.get_oauth("hawk-1", now=T0 + TTL) is None
        assert await storage.start_oauth("hawk-1", state="s2", now=T0 + TTL, ttl=TTL) == "s2"

    async def test_records_are_per_session(self, storage: Storage) -> None:
        await storage.start_oauth("hawk-1", state="s1", now=T0, ttl=TTL)
        await storage.start_oauth("hawk-2", state="s2", now=T0, ttl=TTL)
        await storage.set_oauth_token("hawk-1", token="t1", now=T0, ttl=TTL)
        assert await storage.get_oauth("hawk-1", now=T0) == OAuthRecord("s1", "t1")
        assert await storage.get_oauth("hawk-2", now=T0) == OAuthRecord("s2")

    async def test_rotation_returns_the_previous_state(self, storage: Storage) -> None:
        await storage.start_oauth("hawk-1", state="s1", now=T0, ttl=TTL)
        assert await storage.rotate_oauth_state("hawk-1", state="s2", now=T0, ttl=TTL) == "s1"
        assert await storage.rotate_oauth_state("hawk-1", state="s3", now=T0, ttl=TTL) == "s2"
        assert await storage.get_oauth("hawk-1", now=T0) == OAuthRecord("s3")

    async def test_rotation_restarts_the_state_lifetime(self, storage: Storage) -> None:
        await storage.start_oauth("hawk-1", state="s1", now=T0, ttl=TTL)
        await storage.rotate_oauth_state("hawk-1", state="s2", now=T0 + 50, ttl=TTL)
        assert await storage.get_oauth("hawk-1", now=T0 + 149) == OAuthRecord("s2")
        assert await storage.get_oauth("hawk-1", now=T0 + 150) is None

    async def test_rotation_without_a_state_stores_nothing(self, storage: Storage) -> None:
        assert await storage.rotate_oauth_state("hawk-1", state="s", now=T0, ttl=TTL) is None
        assert await storage.get_oauth("hawk-1", now=T0) is None

    async def test_rotation_of_an_expired_state_stores_nothing(self, storage: Storage) -> None:
        await storage.start_oauth("hawk-1", state="s1", now=T0, ttl=TTL)
        later = T0 + TTL + 1
        assert await storage.rotate_oauth_state("hawk-1", state="s2", now=later, ttl=TTL) is None
        assert await storage.get_oauth("hawk-1", now=later) is None

    async def test_token_is_stored_and_replaced(self, storage: Storage) -> None:
        await storage.start_oauth("hawk-1", state="s1", now=T0, ttl=TTL)
        await storage.set_oauth_token("hawk-1", token="t1", now=T0, ttl=TTL)
        await storage.set_oauth_token("hawk-1", token="t2", now=T0, ttl=TTL)
        assert await storage.get_oauth("hawk-1", now=T0) == OAuthRecord("s1", "t2")

    async def test_token_expires_on_its_own(self, storage: Storage) -> None:
        await storage.start_oauth("hawk-1", state="s1", now=T0, ttl=1000)
        await storage.set_oauth_token("hawk-1", token="t1", now=T0, ttl=TTL)
        assert await storage.get_oauth("hawk-1", now=T0 + TTL) == OAuthRecord("s1")

    async def test_token_does_not_outlive_rotation(self, storage: Storage) -> None:
        await storage.start_oauth("hawk-1", state="s1", now=T0, ttl=TTL)
        await storage.set_oauth_token("hawk-1", token="t1", now=T0, ttl=TTL)
        await storage.rotate_oauth_state("hawk-1", state="s2", now=T0, ttl=TTL)
        assert await storage.get_oauth("hawk-1", now=T0) == OAuthRecord("s2", "t1")


USER = "mac-alice"


async def _alice_everywhere(storage: Storage) -> None:
    """Alice: two signed-in devices (one bound after creation), a guest past, rooms with
    participants, a deleted room, push targets and an OAuth record. Bob: a room and a
    device, which must survive."""
    phone = make_session("phone", user_mac=USER)
    laptop = make_session("laptop")
    await open_session(storage, phone, targets={"rooms": "https://push/phone"})
    await open_session(storage, laptop, targets={"calls": "https://push/laptop-guest"})
    await storage.bind_identity(
        laptop.hawk_id_hmac, user_mac=USER, encrypted_identity="enc", now=T0, ttl=TTL * 1000
    )
    bound = dataclasses.replace(laptop, user_mac=USER, encrypted_identity="enc")
    await storage.register_push(bound, {"rooms": "https://push/laptop"}, now=T0, ttl=TTL)
    await storage.start_oauth(laptop.hawk_id_hmac, state="s", now=T0, ttl=TTL)
    for token in ("alice-1", "alice-2", "alice-gone"):
        await storage.create_room(make_room(token, owner=USER), now=T0)
    await storage.delete_room("alice-gone", owner=USER, now=T0, deleted_ttl=DELETED_TTL)
    await join(storage, "alice-1", make_participant("guest-1"))
    bob = make_session("bob-device", user_mac="mac-bob")
    await open_session(storage, bob, targets={"rooms": "https://push/bob"})
    await storage.create_room(make_room("bob-1", owner="mac-bob"), now=T0)
    await join(storage, "bob-1", make_participant("phone", user=USER))


class DeleteAccountContract:
    async def test_rooms_and_their_participants_are_gone(self, storage: Storage) -> None:
        await _alice_everywhere(storage)
        await storage.delete_account(USER, hawk_id_hmac="hawk-phone", now=T0 + 1)
        for token in ("alice-1", "alice-2"):
            assert await storage.get_room(token, now=T0 + 1) is None
        listed = await storage.list_rooms(USER, since=T0 - 10, now=T0 + 1)
        assert listed.rooms == () and listed.deleted == ()

    async def test_a_recreated_room_token_has_no_old_participants(self, storage: Storage) -> None:
        await _alice_everywhere(storage)
        await storage.delete_account(USER, hawk_id_hmac="hawk-phone", now=T0 + 1)
        await storage.create_room(make_room("alice-1", owner="mac-carol"), now=T0 + 2)
        state = await storage.get_room("alice-1", now=T0 + 2)
        assert state is not None and state.participants == ()

    async def test_every_session_of_the_user_is_gone(self, storage: Storage) -> None:
        await _alice_everywhere(storage)
        await storage.delete_account(USER, hawk_id_hmac="hawk-phone", now=T0 + 1)
        assert await auth(storage, "hawk-phone", now=T0 + 2) is None
        assert await auth(storage, "hawk-laptop", now=T0 + 2) is None
        assert await storage.get_oauth("hawk-laptop", now=T0 + 2) is None

    async def test_push_registrations_are_gone(self, storage: Storage) -> None:
        await _alice_everywhere(storage)
        await storage.delete_account(USER, hawk_id_hmac="hawk-phone", now=T0 + 1)
        for user in (USER, "hawk-laptop"):
            for topic in TOPICS:
                assert await storage.push_targets(user, topic, now=T0 + 1) == []

    async def test_other_users_keep_everything(self, storage: Storage) -> None:
        await _alice_everywhere(storage)
        await storage.delete_account(USER, hawk_id_hmac="hawk-phone", now=T0 + 1)
        assert await auth(storage, "hawk-bob-device", now=T0 + 2) is not None
        state = await storage.get_room("bob-1", now=T0 + 2)
        assert state is not None
        targets = await storage.push_targets("mac-bob", "rooms", now=T0 + 2)
        assert canonical(targets) == canonical(["https://push/bob"])

    async def test_a_guest_deletes_its_own_session_and_rooms(self, storage: Storage) -> None:
        guest = make_session("guest")
        await open_session(storage, guest, targets={"rooms": "https://push/guest"})
        await storage.create_room(make_room("guest-room", owner=guest.hawk_id_hmac), now=T0)
        await storage.delete_account(guest.hawk_id_hmac, hawk_id_hmac=guest.hawk_id_hmac, now=T0)
        assert await auth(storage, guest.hawk_id_hmac, now=T0 + 1) is None
        assert await storage.get_room("guest-room", now=T0 + 1) is None
        assert await storage.push_targets(guest.hawk_id_hmac, "rooms", now=T0 + 1) == []

    async def test_nothing_to_delete_is_not_an_error(self, storage: Storage) -> None:
        await storage.delete_account("mac-nobody", hawk_id_hmac="hawk-nobody", now=T0)

    async def test_the_user_can_start_afresh(self, storage: Storage) -> None:
        await _alice_everywhere(storage)
        await storage.delete_account(USER, hawk_id_hmac="hawk-phone", now=T0 + 1)
        fresh = make_session("new-phone", user_mac=USER)
        await open_session(storage, fresh, now=T0 + 2, targets={"rooms": "https://push/new"})
        await storage.create_room(make_room("alice-new", owner=USER, now=T0 + 2), now=T0 + 2)
        listed = await storage.list_rooms(USER, since=None, now=T0 + 3)
        assert [state.room.token for state in listed.rooms] == ["alice-new"]
        targets = await storage.push_targets(USER, "rooms", now=T0 + 3)
        assert canonical(targets) == canonical(["https://push/new"])

    async def test_deletion_is_one_round_trip(self, storage: Storage) -> None:
        await _alice_everywhere(storage)
        before = storage.stats.round_trips
        await storage.delete_account(USER, hawk_id_hmac="hawk-phone", now=T0 + 1)
        assert storage.stats.round_trips - before == 1


class AccountContract(OAuthContract, DeleteAccountContract):
    """OAuth sessions and account deletion."""


FAULT_CALLS: dict[str, Callable[[Storage], Awaitable[Any]]] = {
    "start_oauth": lambda s: s.start_oauth("hawk-1", state="s", now=T0, ttl=100),
    "get_oauth": lambda s: s.get_oauth("hawk-1", now=T0),
    "rotate_oauth_state": lambda s: s.rotate_oauth_state("hawk-1", state="s", now=T0, ttl=9),
    "set_oauth_token": lambda s: s.set_oauth_token("hawk-1", token="t", now=T0, ttl=100),
    "delete_account": lambda s: s.delete_account("mac-1", hawk_id_hmac="hawk-1", now=T0),
}
"""Every :class:`~loop.storage.accounts.AccountStorage` method, for the fault tests."""
