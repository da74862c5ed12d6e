"""The Redis backend on a real three-master Redis Cluster against the storage contract,
plus what only a cluster has: slot routing (``MOVED``, ``ASK``), every script on one slot,
the reap index spread over buckets, account deletion as per-slot steps."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from loop.storage import BackendError
from loop.storage.redis import keys
from loop.storage.redis.clustered import ClusterRedisStorage, from_url
from loop.storage.testing import StorageContract
from loop.storage.testing.accounts import USER, _alice_everywhere
from loop.storage.testing.factories import T0
from tests.conftest import flush_cluster
from tests.storage.test_redis import loaded_scripts


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


class TestRedisClusterStorage(StorageContract):
    """The shared contract, every method on the cluster."""

    async def test_deletion_is_one_round_trip(self, storage: ClusterRedisStorage) -> None:
        """Not in a cluster: one read of the user's indexes, one step per record found (on
        its own slot, or one per slot for a step's foreign writes), then the indexes."""
        await _alice_everywhere(storage)
        for script in loaded_scripts():  # on every master: no NOSCRIPT retry is counted
            await storage._client.script_load(script.source)
            await storage._client.script_load(script.cluster_source)
        before = storage.stats.round_trips
        await storage.delete_account(USER, hawk_id_hmac="hawk-phone", now=T0 + 1)
        assert storage.stats.round_trips - before == DELETION_STEPS


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
        assert await storage.push_targets("mac-bob", "rooms", now=T0 + 1) == [
            "https://push/bob"
        ]
