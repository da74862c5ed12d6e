"""Contract of :class:`loop.storage.admin.AdminStorage`, run against every backend: the
figures count exactly the live records, the purge removes what expired (for good, not just
from view), and an export imported into an emptied store gives back the same records and
a store that behaves the same through the ordinary methods.

The dump's neutrality across backends (SQLite → Redis and back) is proved end to end by
``tests/admin``, which runs both backends in one test."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from loop.storage import NonceReplayed, OAuthRecord, Storage
from loop.storage.admin import Activity, Record
from loop.storage.testing.calls import RATE, make_call, make_url
from loop.storage.testing.factories import (
    DELETED_TTL,
    HOUR,
    T0,
    join,
    make_participant,
    make_room,
    make_session,
    open_session,
)
from loop.storage.testing.sessions import auth

WEB_PUSH = {"endpoint": "https://push.example/wp/1", "keys": {"p256dh": "BP", "auth": "a"}}
DAY = 24 * HOUR


async def export(storage: Storage, *, now: float = T0) -> list[Record]:
    return [record async for record in storage.export_records(now=now)]


async def populate(storage: Storage) -> None:
    """One of everything a dump holds, plus records that expired by ``T0 + 1``."""
    await storage.ensure_secrets({"hawk_id_secret": "h" * 32, "user_mac_secret": "u" * 32})
    alice = make_session("alice", user_mac="mac-alice")
    await open_session(storage, alice, targets={"rooms": WEB_PUSH, "calls": "https://simple/1"})
    await auth(storage, alice.hawk_id_hmac, now=T0, nonce="kept")
    await storage.start_oauth(alice.hawk_id_hmac, state="state-1", now=T0, ttl=HOUR)
    await storage.set_oauth_token(alice.hawk_id_hmac, token="fxa-token", now=T0, ttl=HOUR)
    await open_session(storage, make_session("guest"))
    await open_session(storage, make_session("gone", user_mac="mac-gone"), ttl=0.5)
    await storage.create_room(make_room("room-1", owner="mac-alice"), now=T0)
    await join(storage, "room-1", make_participant("p-1", user="mac-alice"))
    await join(storage, "room-1", make_participant("p-2"))
    await join(storage, "room-1", make_participant("p-brief", ttl=0.5))
    await storage.create_room(make_room("room-old", owner="mac-alice", expires_at=T0 + 1), now=T0)
    await storage.create_room(make_room("room-del", owner="mac-alice"), now=T0)
    await storage.delete_room("room-del", owner="mac-alice", now=T0, deleted_ttl=DELETED_TTL)
    await storage.create_call_url(make_url("url-1", user="mac-alice"), now=T0, limits=RATE)
    await storage.create_call_url(
        make_url("url-old", user="mac-alice", expires=T0 + 1), now=T0, limits=RATE
    )
    await storage.create_call(
        make_call("call-1", ttl=DAY), callees=["mac-alice"], reachable_only=False, now=T0
    )
    await storage.mark_call("call-1", marker="alerting", when={1}, now=T0)


class AdminContract:
    async def test_figures_count_only_live_records(self, storage: Storage) -> None:
        await populate(storage)

        figures = await storage.figures(now=T0 + 1)

        assert (figures.users, figures.sessions, figures.push_registrations) == (1, 2, 2)
        assert (figures.rooms, figures.participants) == (1, 2)
        assert (figures.calls, figures.call_urls) == (1, 1)
        assert figures.size_bytes >= 0  # an in-memory SQLite database has no file

    async def test_activity_counts_rooms_in_use_and_who_is_in_them(self, storage: Storage) -> None:
        assert await storage.activity(now=T0) == Activity(rooms=0, participants=0)
        await populate(storage)
        await storage.create_room(make_room("room-2", owner="mac-bob"), now=T0)
        await join(storage, "room-2", make_participant("p-3"))

        assert await storage.activity(now=T0) == Activity(rooms=2, participants=4)
        assert await storage.activity(now=T0 + 1) == Activity(rooms=2, participants=3)

    async def test_figures_of_an_empty_store_are_zero(self, storage: Storage) -> None:
        figures = await storage.figures(now=T0)

        counts = dataclasses.asdict(figures)
        for name in ("users", "sessions", "rooms", "participants", "calls", "call_urls"):
            assert counts[name] == 0, name
        assert figures.push_registrations == 0

    async def test_export_holds_every_live_record_secrets_first(self, storage: Storage) -> None:
        await populate(storage)

        records = await export(storage, now=T0 + 1)

        kinds = [record["kind"] for record in records]
        assert kinds == ["secret"] * 2 + ["session"] * 2 + [
            "room",
            "deleted_room",
            "call_url",
            "call",
        ]
        alice = next(r for r in records if r["kind"] == "session" and r["user_mac"])
        assert alice["device"] == "hawk-alice"
        assert alice["push"] == [
            {"user": "mac-alice", "topic": "calls", "target": "https://simple/1"},
            {"user": "mac-alice", "topic": "rooms", "target": WEB_PUSH},
        ]
        assert [n["member"].split(":")[1] for n in alice["nonces"]] == ["kept"]
        assert alice["oauth"]["state"] == "state-1" and alice["oauth"]["token"] == "fxa-token"
        room = records[4]
        assert [p["id"] for p in room["participants"]] == ["p-1", "p-2"]
        assert room["context"] == make_room().context
        call = records[-1]
        assert (call["users"], call["markers"]) == (["mac-alice"], ["alerting", "init"])

    async def test_round_trip_gives_back_the_same_records(self, storage: Storage) -> None:
        await populate(storage)
        before = await export(storage, now=T0 + 1)

        await storage.flush()
        assert await storage.holds_data(now=T0 + 1) is False
        await storage.import_records(before, now=T0 + 1)

        assert await export(storage, now=T0 + 1) == before

    async def test_imported_store_behaves_like_the_original(self, storage: Storage) -> None:
        await populate(storage)
        records = await export(storage, now=T0 + 1)
        await storage.flush()
        await storage.import_records(records, now=T0 + 1)
        now = T0 + 2

        session = await auth(storage, "hawk-alice", now=now)
        assert session == make_session("alice", user_mac="mac-alice")
        with pytest.raises(NonceReplayed):
            await auth(storage, "hawk-alice", now=now, nonce="kept")
        assert await storage.push_targets("mac-alice", "rooms", now=now) == [WEB_PUSH]
        assert await storage.get_oauth("hawk-alice", now=now) == OAuthRecord(
            "state-1", "fxa-token"
        )
        listing = await storage.list_rooms("mac-alice", since=T0, now=now)
        assert [state.room.token for state in listing.rooms] == ["room-1"]
        assert [p.id for p in listing.rooms[0].participants] == ["p-1", "p-2"]
        assert listing.deleted == ("room-del",)
        assert [url.token for url in await storage.list_call_urls("mac-alice", now=now)] == [
            "url-1"
        ]
        calls = await storage.list_calls("mac-alice", since=T0, now=now)
        assert [call.call_id for call in calls] == ["call-1"]
        progress = await storage.mark_call("call-1", marker="connecting", when={2}, now=now)
        assert progress is not None and progress.markers == 3

    async def test_import_skips_records_that_expired_meanwhile(self, storage: Storage) -> None:
        await populate(storage)
        records = await export(storage, now=T0 + 1)
        await storage.flush()

        await storage.import_records(records, now=T0 + 2 * DAY)  # alice's session ends at T0+100

        records = await export(storage, now=T0 + 1)
        assert [(r["kind"], r.get("device")) for r in records] == [
            ("secret", None),
            ("secret", None),
            ("session", "hawk-guest"),
        ]

    async def test_import_replaces_records_with_the_same_key(self, storage: Storage) -> None:
        await populate(storage)
        records = await export(storage, now=T0 + 1)

        await storage.import_records(records, now=T0 + 1)

        assert await export(storage, now=T0 + 1) == records

    async def test_imported_secrets_win_over_generated_ones(self, storage: Storage) -> None:
        await storage.ensure_secrets({"hawk_id_secret": "new"})

        await storage.import_records(
            [{"kind": "secret", "name": "hawk_id_secret", "value": "old"}], now=T0
        )

        assert await storage.ensure_secrets({"hawk_id_secret": "newer"}) == {
            "hawk_id_secret": "old"
        }

    async def test_purge_removes_expired_records_for_good(self, storage: Storage) -> None:
        await populate(storage)

        removed = await storage.purge_expired(now=T0 + 1)

        assert removed["sessions"] == 1
        assert removed["rooms"] == 1
        assert removed["call URLs"] == 1
        assert await storage.get_room("room-old", now=T0) is None
        assert await storage.get_call_url("url-old", now=T0) is None
        state = await storage.get_room("room-1", now=T0)
        assert state is not None and [p.id for p in state.participants] == ["p-1", "p-2"]
        assert await auth(storage, "hawk-gone", now=T0) is None
        assert (await storage.figures(now=T0 + 1)).sessions == 2

    async def test_purge_of_a_clean_store_removes_nothing(self, storage: Storage) -> None:
        await populate(storage)
        await storage.purge_expired(now=T0 + 1)

        assert await storage.purge_expired(now=T0 + 1) == {}

    async def test_holds_data_ignores_secrets(self, storage: Storage) -> None:
        await storage.ensure_secrets({"a": "1"})
        assert await storage.holds_data(now=T0) is False

        await open_session(storage, make_session("a"))

        assert await storage.holds_data(now=T0) is True


async def _drain(storage: Storage) -> None:
    await export(storage)


FAULT_CALLS: dict[str, Callable[[Storage], Awaitable[Any]]] = {
    "figures": lambda s: s.figures(now=T0),
    "activity": lambda s: s.activity(now=T0),
    "purge_expired": lambda s: s.purge_expired(now=T0),
    "export_records": _drain,
    "import_records": lambda s: s.import_records(
        [{"kind": "secret", "name": "a", "value": "1"}], now=T0
    ),
    "holds_data": lambda s: s.holds_data(now=T0),
}
"""Every :class:`~loop.storage.admin.AdminStorage` method, for the fault tests."""
