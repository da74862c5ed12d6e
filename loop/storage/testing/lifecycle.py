"""Secrets, heartbeat, flush and the cost counters the bench reads."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from loop.storage import SecretsDiverged, Storage
from loop.storage.secrets import FINGERPRINT
from loop.storage.testing.factories import T0, make_room, make_session
from loop.storage.testing.sessions import auth


class SecretsContract:
    async def test_first_candidates_are_stored(self, storage: Storage) -> None:
        assert await storage.ensure_secrets({"a": "1", "b": "2"}) == {"a": "1", "b": "2"}

    async def test_first_writer_wins(self, storage: Storage) -> None:
        await storage.ensure_secrets({"a": "1"})
        assert await storage.ensure_secrets({"a": "other", "b": "2"}) == {"a": "1", "b": "2"}
        assert await storage.ensure_secrets({"b": "again"}) == {"b": "2"}

    async def test_only_the_names_asked_are_returned(self, storage: Storage) -> None:
        await storage.ensure_secrets({"a": "1", "b": "2"})
        assert await storage.ensure_secrets({"b": "x"}) == {"b": "2"}
        assert await storage.ensure_secrets({}) == {}

    async def test_processes_starting_together_agree(self, storage: Storage) -> None:
        results = await asyncio.gather(
            *(storage.ensure_secrets({"a": f"candidate-{n}", "b": f"b-{n}"}) for n in range(5))
        )
        assert all(result == results[0] for result in results)
        assert await storage.ensure_secrets({"a": "late", "b": "late"}) == results[0]


OURS = {"a": "1", FINGERPRINT: "ours"}
"""A process's secrets record: its generated secrets and the fingerprint of all of them."""


async def held_by_another(storage: Storage) -> None:
    """What a process starting on an emptied store writes: another record."""
    await storage.flush()
    await storage.ensure_secrets({"a": "2", FINGERPRINT: "theirs"})


class PinnedSecretsContract:
    """Processes sharing a store agree on the secrets or refuse (decisions D31)."""

    async def test_pinning_an_empty_store_writes_the_record(self, storage: Storage) -> None:
        assert await storage.pin_secrets(OURS) is True
        assert await storage.ensure_secrets({"a": "x", FINGERPRINT: "x"}) == OURS
        assert await storage.check_secrets() is True

    async def test_pinning_a_store_held_to_another_fingerprint_fails_and_refuses(
        self, storage: Storage
    ) -> None:
        await storage.ensure_secrets({"a": "1", FINGERPRINT: "theirs"})
        assert await storage.pin_secrets(OURS) is False
        with pytest.raises(SecretsDiverged):
            await storage.ensure_secrets({FINGERPRINT: "x"})
        assert await storage.ping(now=T0) is False

    async def test_an_emptied_store_is_reseeded_by_the_check(self, storage: Storage) -> None:
        await storage.pin_secrets(OURS)
        await storage.flush()
        assert await storage.check_secrets() is True
        assert await storage.ensure_secrets({"a": "x", FINGERPRINT: "x"}) == OURS

    async def test_a_store_held_by_another_refuses_every_call_and_fails_ping(
        self, storage: Storage
    ) -> None:
        await storage.pin_secrets(OURS)
        await held_by_another(storage)
        assert await storage.check_secrets() is False
        with pytest.raises(SecretsDiverged):
            await storage.create_session(make_session(), now=T0, ttl=100)
        with pytest.raises(SecretsDiverged):
            await storage.ensure_secrets({"a": "3"})
        assert await storage.ping(now=T0) is False
        assert await storage.check_secrets() is False

    async def test_the_refusal_ends_when_the_store_holds_our_record_again(
        self, storage: Storage
    ) -> None:
        await storage.pin_secrets(OURS)
        await held_by_another(storage)
        assert await storage.check_secrets() is False
        await storage.flush()
        assert await storage.check_secrets() is True
        assert await storage.ping(now=T0) is True
        await storage.create_session(make_session(), now=T0, ttl=100)

    async def test_checking_without_a_pinned_record_writes_nothing(self, storage: Storage) -> None:
        assert await storage.check_secrets() is True
        assert await storage.ensure_secrets({FINGERPRINT: "x"}) == {FINGERPRINT: "x"}


class LifecycleContract:
    async def test_ping_succeeds(self, storage: Storage) -> None:
        assert await storage.ping(now=T0) is True
        assert await storage.ping(now=T0 + 1) is True

    async def test_flush_removes_everything(self, storage: Storage) -> None:
        session = make_session(user_mac="mac-1")
        await storage.create_session(session, now=T0, ttl=100)
        await storage.register_push(session, {"rooms": "r1"}, now=T0, ttl=100)
        await storage.create_room(make_room(owner="mac-1"), now=T0)
        await storage.ensure_secrets({"a": "1"})
        await storage.flush()
        assert await auth(storage, session.hawk_id_hmac, now=T0) is None
        assert await storage.push_targets("mac-1", "rooms", now=T0) == []
        assert await storage.get_room("room-1", now=T0) is None
        assert await storage.ensure_secrets({"a": "2"}) == {"a": "2"}

    async def test_stats_count_every_call(self, storage: Storage) -> None:
        before = dataclasses.replace(storage.stats)
        await storage.create_room(make_room(), now=T0)
        middle = dataclasses.replace(storage.stats)
        await storage.get_room("room-1", now=T0)
        after = storage.stats
        assert before.round_trips < middle.round_trips < after.round_trips
        assert before.commands < middle.commands < after.commands
        assert after.commands - before.commands >= after.round_trips - before.round_trips
