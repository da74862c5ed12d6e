"""The Redis backend against the storage contract, plus what only Redis has: Lua scripts,
the one-round-trip budget, concurrent reapers on separate connections, native TTLs."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from importlib import resources
from typing import Any

import pytest
import redis.asyncio

from loop.storage import (
    BackendError,
    NonceReplayed,
    PushTarget,
    Storage,
    StorageError,
    Topic,
)
from loop.storage import redis as redis_backend
from loop.storage.quotas import RateLimit
from loop.storage.redis import (
    RedisStorage,
    accounts,
    calls,
    cluster_accounts,
    cluster_base,
    cluster_rooms,
    from_url,
    rooms,
    sessions,
    signalling,
    webpush,
)
from loop.storage.redis.scripts import MARGIN_MS, Script
from loop.storage.testing import StorageContract, admin
from loop.storage.testing.factories import (
    T0,
    join,
    make_participant,
    make_room,
    make_session,
    open_session,
)
from loop.storage.testing.faults import CALLS
from loop.storage.testing.sessions import auth
from loop.storage.testing.sharing import OpenSharing, SharedStoreContract

EXTENDED = T0 + 8 * 7 * 24 * 3600

STEPS = accounts.ACCOUNT_DELETION_STEPS
SCRIPT_MODULES = (
    *(redis_backend, sessions, rooms, calls, accounts, webpush, signalling),
    *(cluster_base, cluster_rooms, cluster_accounts),
)
"""The backend, its concern mixins and its cluster steps: the modules that load scripts."""


def loaded_scripts() -> list[Script]:
    """Every script of the backend, and each one's variant carrying a session check."""
    scripts = [
        value
        for module in SCRIPT_MODULES
        for value in vars(module).values()
        if isinstance(value, Script)
    ]
    return [*scripts, *(script.checked for script in scripts)]


@pytest.fixture
async def raw(redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    """A plain client on the test database, flushed before each test."""
    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture
async def storage(redis_url: str, raw: redis.asyncio.Redis) -> AsyncIterator[RedisStorage]:
    store = await from_url(redis_url)
    yield store
    await store.close()


@pytest.fixture
async def broken_storage(refused_port: int) -> AsyncIterator[RedisStorage]:
    """Nothing listens on that port: every connection is refused at once."""
    store = await from_url(f"redis://127.0.0.1:{refused_port}/0?socket_connect_timeout=0.5")
    yield store
    await store.close()


class TestRedisStorage(StorageContract, SharedStoreContract):
    """The shared contract; Redis-only checks follow in the classes below."""

    @pytest.fixture
    def open_sharing(self, redis_url: str) -> OpenSharing:
        return lambda: from_url(redis_url)


async def test_unix_socket_urls_are_accepted(redis_url: str) -> None:
    store = await from_url("unix:///nonexistent/redis.sock")
    assert isinstance(store, RedisStorage)
    assert await store.ping(now=T0) is False
    await store.close()


class TestScripts:
    async def test_every_script_compiles_to_its_sha(self, raw: redis.asyncio.Redis) -> None:
        for script in loaded_scripts():
            assert await raw.script_load(script.source) == script.sha, script.name
            assert await raw.script_load(script.cluster_source) == script.cluster_sha

    def test_every_lua_file_is_part_of_a_script(self) -> None:
        sources = [script.source for script in loaded_scripts()]
        for file in (resources.files("loop.storage.redis") / "lua").iterdir():
            text = file.read_text(encoding="utf-8")
            assert any(text in source for source in sources), file.name

    def test_account_deletion_runs_its_steps_once_in_order(self) -> None:
        source = accounts.DELETE_ACCOUNT.source
        lua = resources.files("loop.storage.redis") / "lua"
        at = [source.find((lua / f"{step}.lua").read_text()) for step in STEPS]
        assert -1 not in at and at == sorted(at)
        assert all(source.count((lua / f"{step}.lua").read_text()) == 1 for step in STEPS)

    async def test_scripts_survive_a_script_flush(
        self, storage: RedisStorage, raw: redis.asyncio.Redis
    ) -> None:
        await storage.create_room(make_room(), now=T0)
        await raw.script_flush()
        before = dataclasses.replace(storage.stats)
        state = await storage.get_room("room-1", now=T0)
        assert state is not None
        assert storage.stats.round_trips - before.round_trips == 2
        before = dataclasses.replace(storage.stats)
        assert await storage.get_room("room-1", now=T0) == state
        assert storage.stats.round_trips - before.round_trips == 1

    async def test_a_connection_the_server_dropped_is_replaced(
        self, storage: RedisStorage, raw: redis.asyncio.Redis
    ) -> None:
        """Pooled sockets closed by Redis while idle (timeout, restart) cost no error."""
        await storage.create_room(make_room(), now=T0)
        await raw.client_kill_filter(_type="normal", skipme=True)
        state = await storage.get_room("room-1", now=T0)
        assert state is not None and state.room.token == "room-1"

    async def test_a_cancelled_call_does_not_leave_its_reply_to_the_next(
        self, storage: RedisStorage
    ) -> None:
        await storage.create_room(make_room(), now=T0)
        call = asyncio.ensure_future(storage.get_room("room-1", now=T0))
        await asyncio.sleep(0)
        call.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await call
        assert await storage.ping(now=T0)
        listed = await storage.list_rooms("owner-1", since=None, now=T0)
        assert [state.room.token for state in listed.rooms] == ["room-1"]

    async def test_domain_outcomes_are_not_backend_errors(self, storage: RedisStorage) -> None:
        session = await open_session(storage, make_session())
        assert await auth(storage, session.hawk_id_hmac, now=T0, nonce="n")
        with pytest.raises(NonceReplayed):
            await auth(storage, session.hawk_id_hmac, now=T0, nonce="n")


class TestOneRoundTrip:
    """Request-path methods; the admin concern walks the whole database on purpose."""

    @pytest.mark.parametrize("method", sorted(CALLS.keys() - admin.FAULT_CALLS.keys()))
    async def test_every_method_costs_one_command(
        self, storage: RedisStorage, method: str
    ) -> None:
        await _populate(storage)
        await _ignore_outcomes(CALLS[method], storage)  # may EVAL a flushed script
        await _populate(storage)
        before = dataclasses.replace(storage.stats)
        await _ignore_outcomes(CALLS[method], storage)
        spent = (
            storage.stats.round_trips - before.round_trips,
            storage.stats.commands - before.commands,
        )
        assert spent == (1, 1)

    async def test_limits_and_the_room_cap_cost_no_extra_command(
        self, storage: RedisStorage
    ) -> None:
        windows = [RateLimit("rooms:s:x", 5, 60), RateLimit("rooms:u:y", 9, 3600)]
        before = dataclasses.replace(storage.stats)
        await storage.create_room(make_room(), now=T0, limits=windows, max_rooms=10)
        await storage.create_session(make_session(), now=T0, ttl=60, limits=windows)
        spent = (
            storage.stats.round_trips - before.round_trips,
            storage.stats.commands - before.commands,
        )
        assert spent == (2, 2)

    async def test_a_session_and_its_push_targets_cost_one_command(
        self, storage: RedisStorage
    ) -> None:
        windows = [RateLimit("registrations:a:x", 5, 60)]
        push: dict[Topic, PushTarget] = {"calls": "http://c", "rooms": "http://r"}
        await storage.create_session(make_session("warm"), now=T0, ttl=60, push=push)
        before = dataclasses.replace(storage.stats)
        session = make_session()
        await storage.create_session(session, now=T0, ttl=60, limits=windows, push=push)
        spent = (
            storage.stats.round_trips - before.round_trips,
            storage.stats.commands - before.commands,
        )
        assert spent == (1, 1)
        assert await storage.push_targets(session.user, "rooms", now=T0) == ["http://r"]

    async def test_ping_costs_one_command(self, storage: RedisStorage) -> None:
        before = dataclasses.replace(storage.stats)
        assert await storage.ping(now=T0)
        assert storage.stats.round_trips - before.round_trips == 1
        assert storage.stats.commands - before.commands == 1


async def _populate(storage: Storage) -> None:
    session = make_session(user_mac="mac-1")
    await open_session(storage, session, targets={"rooms": "r"})
    await storage.create_room(make_room(), now=T0)
    await join(storage, "room-1", make_participant())


async def _ignore_outcomes(call: Callable[[Storage], Awaitable[Any]], storage: Storage) -> None:
    """Domain outcomes (a conflict, a replay...) still cost their round trip."""
    try:
        await call(storage)
    except BackendError:
        raise
    except StorageError:
        pass


class TestNativeTTLs:
    async def test_every_key_expires(
        self, storage: RedisStorage, raw: redis.asyncio.Redis
    ) -> None:
        session = make_session(user_mac="mac-1")
        await open_session(storage, session, targets={"rooms": "r", "calls": "c"})
        await auth(storage, session.hawk_id_hmac, now=T0, nonce="n")
        await storage.create_room(make_room(owner="mac-1"), now=T0)
        await storage.create_room(make_room("room-2", owner="mac-1"), now=T0)
        await join(storage, "room-1", make_participant())
        await storage.delete_room("room-2", owner="mac-1", now=T0, deleted_ttl=60)
        await storage.ping(now=T0)
        keys = await raw.keys("*")
        assert len(keys) > 5
        permanent = {"px", "secrets"}
        for key in keys:
            if key not in permanent:
                assert await raw.pttl(key) > 0, key

    async def test_ttls_follow_the_callers_clock(
        self, storage: RedisStorage, raw: redis.asyncio.Redis
    ) -> None:
        """A ``now`` far in the past still gives sensible lifetimes (relative, not absolute)."""
        await storage.create_room(make_room(expires_at=T0 + 100), now=T0)
        ttl = await raw.pttl("r:{room-1}")
        assert 100_000 < ttl <= 100_000 + MARGIN_MS
        await storage.create_session(make_session(), now=1.0, ttl=30)
        ttl = await raw.pttl("s:{hawk-device-1}")
        assert 30_000 < ttl <= 30_000 + MARGIN_MS

    async def test_rate_windows_expire_with_their_window(
        self, storage: RedisStorage, raw: redis.asyncio.Redis
    ) -> None:
        window = RateLimit("registration:a:hmac", 5, 60)
        await storage.create_session(make_session(), now=T0, ttl=600, limits=[window])
        await storage.create_session(make_session("2"), now=T0 + 20, ttl=600, limits=[window])
        ttl = await raw.pttl("rl:{registration:a:hmac}")
        assert 40_000 < ttl <= 40_000 + MARGIN_MS  # the window's end, not the last request's
        assert await raw.hgetall("rl:{registration:a:hmac}") == {"e": str(T0 + 60), "n": "2"}

    async def test_reap_index_entries_leave_with_the_room(
        self, storage: RedisStorage, raw: redis.asyncio.Redis
    ) -> None:
        await storage.create_room(make_room(), now=T0)
        await join(storage, "room-1", make_participant())
        assert await raw.zcard("px") == 1
        await storage.delete_room("room-1", owner="owner-1", now=T0, deleted_ttl=60)
        assert await raw.zcard("px") == 0


class TestPushRecordsPerUser:
    """As the original's ``spurls.<user>.<device>`` (and the SQLite backend): a device
    keeps one record per user it registered as, so signing in does not orphan the
    notifications of the rooms it created as a guest."""

    async def test_signing_in_keeps_the_guest_record(self, storage: RedisStorage) -> None:
        guest = await open_session(storage, make_session(), targets={"rooms": "r-guest"})
        await storage.bind_identity(
            guest.hawk_id_hmac, user_mac="mac-1", encrypted_identity="e", now=T0, ttl=100
        )
        signed_in = dataclasses.replace(guest, user_mac="mac-1", encrypted_identity="e")
        await storage.register_push(signed_in, {"rooms": "r-user"}, now=T0, ttl=100)
        assert await storage.push_targets(guest.user, "rooms", now=T0) == ["r-guest"]
        assert await storage.push_targets("mac-1", "rooms", now=T0) == ["r-user"]
        await storage.unregister_push(signed_in)
        assert await storage.push_targets("mac-1", "rooms", now=T0) == []
        assert await storage.push_targets(guest.user, "rooms", now=T0) == ["r-guest"]
        await storage.delete_session(guest.hawk_id_hmac)
        assert await storage.push_targets(guest.user, "rooms", now=T0) == []
