"""The Redis backend on a real three-master Redis Cluster against the storage contract,
plus what only a cluster has: slot routing (``MOVED``, ``ASK``), every script on one slot,
the reap index spread over buckets, account deletion as per-slot steps."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis

from loop.config import shared_checks
from loop.storage import BackendError, Storage
from loop.storage.calls import CallUrl
from loop.storage.redis import keys
from loop.storage.redis.cluster import parse_cluster_url, slot_of
from loop.storage.redis.clustered import ClusterRedisStorage, from_url
from loop.storage.testing import StorageContract
from loop.storage.testing.accounts import USER, _alice_everywhere
from loop.storage.testing.factories import (
    T0,
    join,
    make_participant,
    make_room,
    make_session,
    open_session,
)
from loop.storage.testing.sessions import auth
from loop.storage.testing.sharing import OpenSharing, SharedStoreContract
from tests.conftest import flush_cluster
from tests.storage.test_redis import loaded_scripts
from tests.support.redis_cluster import redis_cluster_nodes

CLUSTER_URL_MESSAGE = (
    "storage.url: a Redis Cluster URL is redis+cluster://host:port,host:port/ (database 0 only)"
)


@pytest.fixture
async def storage(redis_cluster_url: str) -> AsyncIterator[ClusterRedisStorage]:
    flush_cluster(redis_cluster_url)
    store = await from_url(redis_cluster_url)
    yield store
    await store.close()


@pytest.fixture
async def broken_storage(refused_port: int) -> AsyncIterator[ClusterRedisStorage]:
    """Nothing listens on that port: the slot map cannot be loaded."""
    url = f"redis+cluster://127.0.0.1:{refused_port}/?socket_connect_timeout=0.5"
    store = await from_url(url)
    yield store
    await store.close()


class TestRedisClusterStorage(StorageContract, SharedStoreContract):
    """The shared contract, every method on the cluster."""

    @pytest.fixture
    def open_sharing(self, redis_cluster_url: str) -> OpenSharing:
        return lambda: from_url(redis_cluster_url)

    async def test_deletion_is_one_round_trip(self, storage: Storage) -> None:
        """Not in a cluster: one read of the user's indexes, one step per record found (on
        its own slot, or one per slot for a step's foreign writes), then the indexes."""
        await _alice_everywhere(storage)
        assert isinstance(storage, ClusterRedisStorage)
        await _cache_scripts(storage)
        before = storage.stats.round_trips
        await storage.delete_account(USER, hawk_id_hmac="hawk-phone", now=T0 + 1)
        assert storage.stats.round_trips - before == DELETION_STEPS


class TestPushTargetsAtCreationInACluster:
    """A session's push targets are fields of its record, and a guest's push index
    (``u:{device}:push``) shares its hash tag: creating a guest with its targets is one
    script on one slot. A bound session's index is in its user's slot, written after."""

    async def test_a_guest_and_its_targets_are_one_round_trip(
        self, storage: ClusterRedisStorage
    ) -> None:
        guest = make_session()
        assert slot_of(keys.user(guest.user, "push")) == slot_of(keys.session(guest.user))
        await _cache_scripts(storage)
        before = storage.stats.round_trips
        await storage.create_session(guest, now=T0, ttl=100, push={"rooms": "https://push/1"})
        assert storage.stats.round_trips - before == 1
        assert await storage.push_targets(guest.user, "rooms", now=T0) == ["https://push/1"]

    async def test_a_bound_sessions_index_is_written_on_its_users_slot(
        self, storage: ClusterRedisStorage
    ) -> None:
        bound = make_session(user_mac="mac-1")
        assert slot_of(keys.user("mac-1", "push")) != slot_of(keys.session(bound.hawk_id_hmac))
        await _cache_scripts(storage)
        before = storage.stats.round_trips
        await storage.create_session(bound, now=T0, ttl=100, push={"rooms": "https://push/1"})
        assert storage.stats.round_trips - before == 2  # the script, then the user's indexes
        assert await storage.push_targets("mac-1", "rooms", now=T0) == ["https://push/1"]


async def _cache_scripts(storage: ClusterRedisStorage) -> None:
    """Every script on every master, so that no ``NOSCRIPT`` retry is counted."""
    for script in loaded_scripts():
        await storage._client.script_load(script.source)
        await storage._client.script_load(script.cluster_source)


DELETION_STEPS = 1 + 2 + (2 + 1) + (2 + 1) + 1
"""For ``_alice_everywhere``: the indexes; the two devices with push targets as Alice;
her two sessions, and the laptop's entry in the push index of the guest it was before;
her two live rooms, and the reap index bucket of the one with a participant; then the
user's indexes (no call URL, no call)."""


class TestInterruptedAccountDeletion:
    async def test_running_it_again_finishes_it(
        self, storage: ClusterRedisStorage, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Cut before the last step (the indexes): everything the first run reached is
        gone, the indexes lead the second run to the rest."""
        await _alice_everywhere(storage)
        command = storage._command

        async def failing_index_deletion(*args: str) -> Any:
            if args[0] == "DEL" and args[1] == keys.user(USER, "push"):
                raise ConnectionError("cut")
            return await command(*args)

        monkeypatch.setattr(storage, "_command", failing_index_deletion)
        with pytest.raises(BackendError):
            await storage.delete_account(USER, hawk_id_hmac="hawk-phone", now=T0 + 1)
        assert await storage.get_room("alice-1", now=T0 + 1) is None
        monkeypatch.setattr(storage, "_command", command)
        await storage.delete_account(USER, hawk_id_hmac="hawk-phone", now=T0 + 1)
        listed = await storage.list_rooms(USER, since=T0 - 10, now=T0 + 1)
        assert listed.rooms == () and listed.deleted == ()
        assert await storage.push_targets(USER, "rooms", now=T0 + 1) == []
        assert await storage.get_room("bob-1", now=T0 + 1) is not None
        assert await storage.push_targets("mac-bob", "rooms", now=T0 + 1) == ["https://push/bob"]


def _nodes(url: str) -> list[redis.Redis]:
    """A plain client on each master of the cluster ``url`` names."""
    addresses = url.split("://", 1)[1].rstrip("/").split(",")
    return [
        redis.Redis(host=host, port=int(port), decode_responses=True)
        for host, port in (address.rsplit(":", 1) for address in addresses)
    ]


def _owner_of(nodes: list[redis.Redis], slot: int) -> tuple[redis.Redis, list[redis.Redis]]:
    """The node serving ``slot`` (by the first node's slot map), and the others."""
    for first, last, master, *_ in _cluster(nodes[0], "SLOTS"):
        if first <= slot <= last:
            owner = next(node for node in nodes if _address(node)[1] == master[1])
            return owner, [node for node in nodes if node is not owner]
    raise AssertionError(f"no node serves slot {slot}")


def _cluster(node: redis.Redis, *args: str | int) -> Any:
    """A ``CLUSTER`` subcommand on one node."""
    return node.execute_command("CLUSTER", *args)  # type: ignore[no-untyped-call]


def _node_id(node: redis.Redis) -> str:
    return str(_cluster(node, "MYID"))


def _assign(nodes: list[redis.Redis], slot: int, owner: redis.Redis) -> None:
    for node in nodes:
        _cluster(node, "SETSLOT", slot, "NODE", _node_id(owner))


class TestSlotRouting:
    async def test_a_moved_slot_is_followed_and_the_map_refreshed(
        self, storage: ClusterRedisStorage, redis_cluster_url: str
    ) -> None:
        """The slot changes master after the map was loaded: the old master answers
        ``MOVED``, the command goes to the new one, and so do the next ones."""
        await storage.get_room("warm-up", now=T0)
        key = keys.room("moved")
        slot = slot_of(key)
        nodes = _nodes(redis_cluster_url)
        old, others = _owner_of(nodes, slot)
        new = others[0]
        try:
            _assign(nodes, slot, new)
            await storage.create_room(make_room("moved"), now=T0)
            assert new.exists(key) == 1
            state = await storage.get_room("moved", now=T0)
            assert state is not None and state.room.token == "moved"
            await storage.delete_room("moved", owner="owner-1", now=T0, deleted_ttl=60)
        finally:
            new.delete(key, keys.participants("moved"))
            _assign(nodes, slot, old)
            for node in nodes:
                node.close()

    async def test_a_slot_being_migrated_is_asked_of_its_new_master(
        self, storage: ClusterRedisStorage, redis_cluster_url: str
    ) -> None:
        """A key not (yet) on the migrating master is answered ``ASK``: ``ASKING`` and the
        command go to the importing master, the slot map unchanged. (A script of several
        keys is answered ``TRYAGAIN`` there until the migration ends: a 503 with
        ``Retry-After``, as Redis Cluster intends.)"""
        await storage.get_room("warm-up", now=T0)
        key = keys.call_url("asked")
        slot = slot_of(key)
        nodes = _nodes(redis_cluster_url)
        source, others = _owner_of(nodes, slot)
        target = others[0]
        url = CallUrl(token="asked", user="mac-1", issuer="A", timestamp=T0, expires=T0 + 60)
        try:
            _cluster(target, "SETSLOT", slot, "IMPORTING", _node_id(source))
            _cluster(source, "SETSLOT", slot, "MIGRATING", _node_id(target))
            await storage.create_call_url(url, now=T0)
            pipe = target.pipeline(transaction=False)
            pipe.execute_command("ASKING")  # type: ignore[no-untyped-call]
            pipe.exists(key)
            assert pipe.execute() == [True, 1]  # the new master has it
            assert await storage.get_call_url("asked", now=T0) == url
            assert storage._lane.owns(_address(source), key)
        finally:
            _assign(nodes, slot, target)
            target.delete(key)
            _assign(nodes, slot, source)
            for node in nodes:
                node.close()


def _address(node: redis.Redis) -> tuple[str, int]:
    kwargs = node.connection_pool.connection_kwargs
    return str(kwargs["host"]), int(kwargs["port"])


class TestReapBuckets:
    async def test_participants_are_filed_in_their_rooms_bucket(
        self, storage: ClusterRedisStorage
    ) -> None:
        """The Lua prelude and :func:`keys.reap_bucket` name the same bucket."""
        for index in range(8):
            token = f"room-{index}"
            await storage.create_room(make_room(token, owner="owner-1"), now=T0)
            await join(storage, token, make_participant("p1"))
            listed = await storage._command("ZRANGE", keys.reap_bucket(token), "0", "-1")
            assert f"{token} p1" in listed


class TestClusterUrls:
    def test_the_nodes_and_the_first_nodes_url(self) -> None:
        seeds, first = parse_cluster_url("redis+cluster://a:7000,b:7001/?socket_timeout=1")
        assert seeds == [("a", 7000), ("b", 7001)]
        assert first == "redis://a:7000/0?socket_timeout=1"
        assert parse_cluster_url("rediss+cluster://a:7000")[1] == "rediss://a:7000/0"

    @pytest.mark.parametrize(
        ("url", "message"),
        [
            ("redis+cluster:///", "lists at least one host:port"),
            ("redis+cluster://a,b:1/", "node 'a' is not host:port"),
            ("redis+cluster://a:1/2", "has only database 0"),
        ],
    )
    def test_a_bad_url_is_refused_with_its_reason(self, url: str, message: str) -> None:
        with pytest.raises(ValueError, match=message):
            parse_cluster_url(url)

    @pytest.mark.parametrize(
        "url", ["redis+cluster://nowhere/", "redis+cluster:///", "redis+cluster://a:1/3"]
    )
    def test_the_settings_check_refuses_a_bad_cluster_url(self, url: str) -> None:
        assert (False, CLUSTER_URL_MESSAGE) in shared_checks(url, [])

    @pytest.mark.parametrize(
        "url", ["redis+cluster://a:1,b:2/", "rediss+cluster://a:1/0?socket_timeout=1"]
    )
    def test_the_settings_check_accepts_a_cluster_url(self, url: str) -> None:
        assert all(ok for ok, _ in shared_checks(url, []))


class TestClusterFigures:
    async def test_figures_count_the_keys_of_every_master(
        self, storage: ClusterRedisStorage, redis_cluster_url: str
    ) -> None:
        for index in range(30):
            await storage.create_room(make_room(f"room-{index}"), now=T0)
        figures = await storage.figures(now=T0)
        nodes = _nodes(redis_cluster_url)
        per_node = [node.dbsize() for node in nodes]
        for node in nodes:
            node.close()
        assert figures.rooms == 30
        assert figures.keys == sum(per_node) == 31  # the rooms and the owner's index
        assert max(per_node) < 31


class TestSessionIndexesInACluster:
    """A session's touch would extend its user's indexes, in another slot, on every
    request; in a cluster it does so only once the session outlives what they were last
    extended to, then by a tenth of its lifetime more."""

    async def test_a_busy_session_extends_its_users_indexes_once_in_a_while(
        self, storage: ClusterRedisStorage
    ) -> None:
        session = make_session(user_mac="mac-1")
        await open_session(storage, session, targets={"rooms": "https://push/1"})
        await _cache_scripts(storage)
        spent = []
        for step in range(4):  # a 100 s session, so indexes extended 10 s further
            before = storage.stats.round_trips
            await auth(storage, session.hawk_id_hmac, now=T0 + 6 * step)
            spent.append(storage.stats.round_trips - before)
        assert spent == [2, 1, 2, 1]  # at T0 (to T0+110), T0+6, T0+12 (to T0+122), T0+18

    async def test_the_indexes_outlive_the_session(self, storage: ClusterRedisStorage) -> None:
        session = make_session(user_mac="mac-1")
        await open_session(storage, session, targets={"rooms": "https://push/1"})
        for step in range(5):
            await auth(storage, session.hawk_id_hmac, now=T0 + 6 * step)
            alive = await storage._command("PTTL", keys.session(session.hawk_id_hmac))
            for index in ("push", "sessions"):
                assert await storage._command("PTTL", keys.user("mac-1", index)) >= alive


class TestADeadMaster:
    async def test_its_slots_fail_fast_and_the_others_are_served(self) -> None:
        """A cluster of its own: one master killed, its rooms answer ``BackendError``
        within the storage timeout, the others' as before (until the cluster itself
        declares the slots lost)."""
        with redis_cluster_nodes() as (url, nodes):
            store = await from_url(url, timeout=1)
            try:
                tokens = [f"room-{index}" for index in range(12)]
                for token in tokens:
                    await store.create_room(make_room(token), now=T0)
                dead = nodes[0]
                on_dead = [
                    t
                    for t in tokens
                    if await store._lane.address_of(keys.room(t)) == ("127.0.0.1", dead.port)
                ]
                alive = [t for t in tokens if t not in on_dead]
                assert on_dead and alive
                dead.kill()
                started = time.monotonic()
                with pytest.raises(BackendError):
                    await store.get_room(on_dead[0], now=T0)
                assert time.monotonic() - started < 1.5
                for token in alive:
                    state = await store.get_room(token, now=T0)
                    assert state is not None and state.room.token == token
            finally:
                await store.close()
