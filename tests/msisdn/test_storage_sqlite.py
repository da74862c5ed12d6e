"""The SQLite gateway backend against the shared contract."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from loop.msisdn.storage import from_url
from loop.msisdn.storage.sqlite import SQLiteGatewayStorage
from loop.msisdn.storage.testing import GatewayStorageContract


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[SQLiteGatewayStorage]:
    store = SQLiteGatewayStorage(str(tmp_path / "msisdn.db"))
    yield store
    await store.close()


@pytest.fixture
async def broken_storage() -> SQLiteGatewayStorage:
    store = SQLiteGatewayStorage(":memory:")
    await store.close()
    return store


class TestSQLiteGatewayStorage(GatewayStorageContract):
    pass


async def test_url_forms(tmp_path: Path) -> None:
    absolute = await from_url(f"sqlite:///{tmp_path / 'a.db'}")
    memory = await from_url("sqlite://:memory:")
    assert isinstance(absolute, SQLiteGatewayStorage)
    assert (tmp_path / "a.db").exists()
    await absolute.close()
    await memory.close()
