"""The SQLite backend against the shared contract, on a file and in memory, plus what only
a file database can show (persistence, WAL)."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from loop.storage import BackendError, Storage, StorageError
from loop.storage import from_url as storage_from_url
from loop.storage.quotas import RateLimit
from loop.storage.sqlite import SQLiteStorage, database_path, from_url
from loop.storage.testing import StorageContract
from loop.storage.testing.factories import T0, join, make_participant, make_room, make_session
from loop.storage.testing.sessions import auth
from loop.storage.testing.sharing import OpenSharing, SharedStoreContract


@pytest.fixture
async def broken_storage(tmp_path: Path) -> AsyncIterator[Storage]:
    """A storage whose connection is gone: every statement raises ``sqlite3.Error``."""
    storage = await from_url(f"sqlite:///{tmp_path}/broken.db")
    await storage.close()
    yield storage


class FailingCommits:
    """A connection whose next ``COMMIT`` fails, as a full or broken disk makes it fail."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self.fail_next_commit = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        if sql == "COMMIT" and self.fail_next_commit:
            self.fail_next_commit = False
            raise sqlite3.OperationalError("disk I/O error")
        return self._db.execute(sql, params)


class LosingTransactions(FailingCommits):
    """A connection where the next statement fails and takes the transaction with it."""

    def __init__(self, db: sqlite3.Connection) -> None:
        super().__init__(db)
        self.fail_next_commit = False
        self.lose_next = False

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        if self.lose_next and not sql.startswith(("ROLLBACK", "RELEASE", "SAVEPOINT")):
            self.lose_next = False
            self._db.execute("ROLLBACK")
            raise sqlite3.OperationalError("database or disk is full")
        return self._db.execute(sql, params)


class TestSQLiteStorage(StorageContract, SharedStoreContract):
    @pytest.fixture
    async def storage(self, tmp_path: Path) -> AsyncIterator[Storage]:
        storage = await from_url(f"sqlite:///{tmp_path}/loop.db")
        yield storage
        await storage.close()

    @pytest.fixture
    def open_sharing(self, tmp_path: Path) -> OpenSharing:
        return lambda: from_url(f"sqlite:///{tmp_path}/loop.db")

    async def test_data_survives_a_restart(self, tmp_path: Path) -> None:
        url = f"sqlite:///{tmp_path}/nested/dir/loop.db"
        first = await from_url(url)
        await first.create_room(make_room(), now=T0)
        await first.create_session(make_session(), now=T0, ttl=100)
        await first.ensure_secrets({"a": "1"})
        await first.close()
        second = await from_url(url)
        try:
            state = await second.get_room("room-1", now=T0)
            assert state is not None and state.room == make_room()
            found = await auth(second, "hawk-device-1", now=T0)
            assert found == make_session()
            assert await second.ensure_secrets({"a": "2"}) == {"a": "1"}
        finally:
            await second.close()

    async def test_file_database_uses_wal(self, tmp_path: Path) -> None:
        storage = await from_url(f"sqlite:///{tmp_path}/loop.db")
        await storage.close()
        with sqlite3.connect(tmp_path / "loop.db") as db:
            assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
            assert db.execute("PRAGMA user_version").fetchone() == (1,)

    async def test_a_write_lock_held_elsewhere_fails_within_the_storage_timeout(
        self, tmp_path: Path
    ) -> None:
        storage = await from_url(f"sqlite:///{tmp_path}/loop.db", timeout=0.3)
        other = sqlite3.connect(tmp_path / "loop.db", isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            started = time.monotonic()
            with pytest.raises(BackendError):
                await storage.create_room(make_room(), now=T0)
            assert 0.25 < time.monotonic() - started < 1.3
            other.execute("ROLLBACK")
            await storage.create_room(make_room(), now=T0)
        finally:
            other.close()
            await storage.close()

    async def test_newer_schema_is_refused(self, tmp_path: Path) -> None:
        storage = await from_url(f"sqlite:///{tmp_path}/loop.db")
        await storage.close()
        with sqlite3.connect(tmp_path / "loop.db") as db:
            db.execute("PRAGMA user_version = 99")
        with pytest.raises(BackendError, match="newer"):
            await from_url(f"sqlite:///{tmp_path}/loop.db")

    async def test_unopenable_file_is_a_backend_error(self, tmp_path: Path) -> None:
        (tmp_path / "not-a-db").write_bytes(b"garbage" * 1000)
        with pytest.raises(BackendError):
            await from_url(f"sqlite:///{tmp_path}/not-a-db")

    async def test_expired_rows_are_purged(self, storage: Storage) -> None:
        assert isinstance(storage, SQLiteStorage)
        await storage.create_room(make_room(expires_at=T0 + 10), now=T0)
        await storage.create_session(make_session(), now=T0, ttl=10)
        await storage.ping(now=T0 + 3600)
        await storage.create_session(make_session("other"), now=T0 + 3600, ttl=10)
        db = storage._db
        assert db.execute("SELECT count(*) FROM rooms").fetchone() == (0,)
        assert db.execute("SELECT hawk_id_hmac FROM sessions").fetchall() == [("hawk-other",)]

    async def test_expired_rate_windows_are_purged(self, storage: Storage) -> None:
        assert isinstance(storage, SQLiteStorage)
        short, long = RateLimit("a:s:1", 5, 60), RateLimit("a:u:1", 5, 3600)
        await storage.create_session(make_session(), now=T0, ttl=10, limits=[short, long])
        await storage.ping(now=T0 + 60)
        await storage.create_session(make_session("other"), now=T0 + 60, ttl=10)
        rows = storage._db.execute("SELECT key, expires_at, hits FROM rate_windows").fetchall()
        assert rows == [("a:u:1", T0 + 3600, 1)]

    async def test_the_call_urls_own_rate_table_is_dropped(self, tmp_path: Path) -> None:
        with sqlite3.connect(tmp_path / "old.db") as db:
            db.execute("CREATE TABLE call_url_rates (key TEXT PRIMARY KEY)")
        storage = await from_url(f"sqlite:///{tmp_path}/old.db")
        await storage.close()
        with sqlite3.connect(tmp_path / "old.db") as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        assert "call_url_rates" not in tables and "rate_windows" in tables

    async def test_limits_and_the_room_cap_share_the_creating_transaction(
        self, storage: Storage
    ) -> None:
        windows = [RateLimit("rooms:s:x", 5, 60), RateLimit("rooms:u:y", 9, 3600)]
        before = storage.stats.round_trips
        await storage.create_room(make_room(), now=T0, limits=windows, max_rooms=10)
        assert storage.stats.round_trips == before + 1

    async def test_a_session_and_its_push_targets_share_one_transaction(
        self, storage: Storage
    ) -> None:
        windows = [RateLimit("registrations:a:x", 5, 60)]
        session = make_session()
        before = storage.stats.round_trips
        await storage.create_session(session, now=T0, ttl=60, limits=windows, push={"rooms": "r"})
        assert storage.stats.round_trips == before + 1
        assert await storage.push_targets(session.user, "rooms", now=T0) == ["r"]

    async def test_one_round_trip_per_call(self, storage: Storage) -> None:
        await storage.create_room(make_room(), now=T0)
        before = storage.stats.round_trips
        await storage.get_room("room-1", now=T0)
        await storage.list_rooms("owner-1", since=T0, now=T0)
        assert storage.stats.round_trips == before + 2

    async def test_live_token_cannot_be_created_twice(self, storage: Storage) -> None:
        await storage.create_room(make_room(), now=T0)
        with pytest.raises(StorageError, match="already in use"):
            await storage.create_room(make_room(owner="owner-2"), now=T0 + 1)
        state = await storage.get_room("room-1", now=T0 + 1)
        assert state is not None and state.room == make_room()

    async def test_unknown_room_fields_are_refused(self, storage: Storage) -> None:
        await storage.create_room(make_room(), now=T0)
        with pytest.raises(ValueError, match="token"):
            await storage.update_room(
                "room-1", owner="owner-1", changes={"token": "other"}, now=T0
            )

    async def test_processes_sharing_a_file_agree(self, tmp_path: Path) -> None:
        url = f"sqlite:///{tmp_path}/shared.db"
        first, second = await from_url(url), await from_url(url)
        try:
            assert await first.ensure_secrets({"a": "1"}) == {"a": "1"}
            assert await second.ensure_secrets({"a": "2"}) == {"a": "1"}
            await first.create_room(make_room(), now=T0)
            await join(second, "room-1", make_participant(ttl=10))
            reaped = [
                await store.reap_participants(now=T0 + 10, room_expires_at=T0 + 99)
                for store in (second, first, second)
            ]
            assert [len(changes) for changes in reaped] == [1, 0, 0]
        finally:
            await first.close()
            await second.close()

    async def test_the_calls_of_one_turn_share_one_commit(self, storage: Storage) -> None:
        assert isinstance(storage, SQLiteStorage)
        statements: list[str] = []
        storage._db.set_trace_callback(statements.append)
        rooms = [make_room(f"room-{n}", owner=f"owner-{n}") for n in range(5)]
        await asyncio.gather(*(storage.create_room(room, now=T0) for room in rooms))
        storage._db.set_trace_callback(None)
        assert (statements.count("BEGIN IMMEDIATE"), statements.count("COMMIT")) == (1, 1)
        assert storage.stats.round_trips >= 5  # still counted per call

    async def test_a_refused_call_leaves_the_rest_of_its_turn(self, storage: Storage) -> None:
        await storage.create_room(make_room(), now=T0)
        outcomes = await asyncio.gather(
            storage.create_room(make_room("room-2", owner="owner-2"), now=T0),
            storage.create_room(make_room(owner="owner-3"), now=T0),
            storage.create_room(make_room("room-4", owner="owner-4"), now=T0),
            return_exceptions=True,
        )
        assert [isinstance(outcome, StorageError) for outcome in outcomes] == [False, True, False]
        for token in ("room-1", "room-2", "room-4"):
            assert await storage.get_room(token, now=T0) is not None
        state = await storage.get_room("room-1", now=T0)
        assert state is not None and state.room.owner == "owner-1"

    async def test_a_call_returns_once_its_write_is_committed(self, tmp_path: Path) -> None:
        path = tmp_path / "loop.db"
        storage = await from_url(f"sqlite:///{path}")
        try:
            await storage.create_room(make_room(), now=T0)
            with contextlib.closing(sqlite3.connect(path)) as other:
                assert other.execute("SELECT token FROM rooms").fetchall() == [("room-1",)]
        finally:
            await storage.close()

    async def test_a_failed_commit_fails_every_call_of_its_turn(self, tmp_path: Path) -> None:
        storage = await from_url(f"sqlite:///{tmp_path}/loop.db")
        assert isinstance(storage, SQLiteStorage)
        storage._db = FailingCommits(storage._db)  # type: ignore[assignment]
        try:
            outcomes = await asyncio.gather(
                storage.create_room(make_room(), now=T0),
                storage.create_room(make_room("room-2", owner="owner-2"), now=T0),
                return_exceptions=True,
            )
            assert [type(outcome) for outcome in outcomes] == [BackendError, BackendError]
            assert await storage.get_room("room-1", now=T0) is None
            assert await storage.get_room("room-2", now=T0) is None
        finally:
            await storage.close()

    async def test_a_turn_lost_to_the_disk_fails_every_call_of_it(self, tmp_path: Path) -> None:
        """SQLite rolls a whole transaction back after some errors (a full disk): the
        calls that already did their work in it fail too, rather than report it done."""
        storage = await from_url(f"sqlite:///{tmp_path}/loop.db")
        assert isinstance(storage, SQLiteStorage)
        failing = storage._db = LosingTransactions(storage._db)  # type: ignore[assignment]
        try:
            first = asyncio.ensure_future(storage.create_room(make_room(), now=T0))
            await asyncio.sleep(0)  # the first call ran, its turn open
            failing.lose_next = True
            with pytest.raises(BackendError):
                await storage.create_room(make_room("room-2", owner="owner-2"), now=T0)
            with pytest.raises(BackendError):
                await first
            assert await storage.get_room("room-1", now=T0) is None
        finally:
            await storage.close()

    async def test_two_storages_of_one_process_share_a_file(self, tmp_path: Path) -> None:
        """A turn left open by one would hold the lock the other waits for in the same
        thread: the other commits it first."""
        url = f"sqlite:///{tmp_path}/shared.db"
        first, second = await from_url(url), await from_url(url)
        try:
            await asyncio.wait_for(
                asyncio.gather(
                    first.create_room(make_room(), now=T0),
                    second.create_room(make_room("room-2", owner="owner-2"), now=T0),
                    from_url(url),
                ),
                timeout=1,  # under the 2 s busy timeout a deadlock would wait
            )
            assert await second.get_room("room-1", now=T0) is not None
            assert await first.get_room("room-2", now=T0) is not None
        finally:
            await first.close()
            await second.close()

    async def test_storage_from_url_picks_sqlite(self, tmp_path: Path) -> None:
        storage = await storage_from_url(f"sqlite:///{tmp_path}/loop.db")
        assert isinstance(storage, SQLiteStorage)
        await storage.close()


class TestMemorySQLiteStorage(StorageContract):
    @pytest.fixture
    async def storage(self) -> AsyncIterator[Storage]:
        storage = await from_url("sqlite://:memory:")
        yield storage
        await storage.close()


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite://:memory:", ":memory:"),
        ("sqlite:///:memory:", ":memory:"),
        ("sqlite:///loop.db", "loop.db"),
        ("sqlite:///var/lib/loop.db", "var/lib/loop.db"),
        ("sqlite:////var/lib/loop.db", "/var/lib/loop.db"),
        ("SQLITE:////abs.db", "/abs.db"),
    ],
)
def test_database_path(url: str, path: str) -> None:
    assert database_path(url) == path


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite://host/x.db", "redis://x"])
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="storage.url"):
        database_path(url)
