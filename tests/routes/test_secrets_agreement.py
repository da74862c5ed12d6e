"""Processes sharing a store agree on the secrets, or the one that disagrees refuses clearly
(503 errno 201, a failing heartbeat, a ``secrets.diverged`` ERROR line), never a silent
401 (decisions D31). Two apps stand for two processes: each has its own services, its own
Redis connections and the secrets it settled at start-up, exactly as a process does."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from loop.app import create_app, open_app
from loop.clock import FakeClock
from loop.config import ConfigError, Secret, StorageSettings
from loop.storage.redis import keys
from loop.storage.secrets import FINGERPRINT, WHAT_TO_DO
from tests.routes.conftest import Harness
from tests.support.app import make_settings
from tests.support.client import HawkSession, LoopClient, assert_error
from tests.support.redis_server import RedisServer, redis_process
from tests.support.waiting import eventually

QUICK = 0.02
"""Seconds between secrets checks when a test waits on the periodic one."""
NEVER = 3600.0
"""When a test must see the connection check alone."""

GENERATED = {"user_mac_secret": Secret(""), "hawk_id_secret": Secret("")}
"""Every secret generated (the test settings configure two of them otherwise)."""


@pytest.fixture
def server() -> Iterator[RedisServer]:
    with redis_process() as process:
        yield process


@asynccontextmanager
async def process(
    url: str, *, interval: float = NEVER, **overrides: Any
) -> AsyncIterator[Harness]:
    """One server process on ``url``; its periodic secrets check runs every ``interval``
    seconds (the only background job: the test settings use the ``fake`` media)."""
    storage = StorageSettings(url=url, secrets_check_interval=interval)
    settings = make_settings(url, storage=storage, **{**GENERATED, **overrides})
    clock = FakeClock(start=float(int(time.time())))
    app = create_app(settings, clock=clock)
    services = await open_app(app, clock=clock, background_jobs=interval != NEVER)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost:5000") as h:
            yield Harness(services, clock, LoopClient(h, clock))
    finally:
        await services.close()


async def works(harness: Harness, session: HawkSession) -> bool:
    response = await harness.client.get("/rooms", hawk=session)
    assert response.status_code in (200, 503), response.text  # never a silent 401
    return response.status_code == 200


def assert_refused(response: httpx.Response, harness: Harness) -> None:
    assert_error(response, 503, 201, "Service Unavailable")
    assert response.headers["Retry-After"] == str(harness.services.settings.retry_after)


async def assert_unhealthy(harness: Harness) -> None:
    response = await harness.client.get("/__heartbeat__")
    assert response.status_code == 503
    assert response.json()["storage"] is False


def diverged_lines(caplog: pytest.LogCaptureFixture, *secrets: str) -> list[logging.LogRecord]:
    """The ``secrets.diverged`` ERROR lines, checked to name the remedy and no secret."""
    lines = [r for r in caplog.records if r.getMessage() == "secrets.diverged"]
    for record in lines:
        assert record.levelno == logging.ERROR
        assert getattr(record, "action", None) == WHAT_TO_DO
        assert not any(secret in str(vars(record)) for secret in secrets)
    return lines


def secrets_of(harness: Harness) -> dict[str, str]:
    return harness.services.settings.effective_secrets()


# -- Redis restarted empty -----------------------------------------------------------------


async def test_the_first_command_after_a_restart_reseeds_redis_and_later_processes_adopt(
    server: RedisServer,
) -> None:
    async with process(server.url) as a:
        await a.client.register()
        server.kill()
        server.start()

        fresh_on_a = await a.client.register()  # its new connection re-seeds Redis first
        async with process(server.url) as b:
            assert b.services.settings.effective_secrets() == secrets_of(a)
            fresh_on_b = await b.client.register()
            assert await works(b, fresh_on_a)
            assert await works(a, fresh_on_b)


async def test_a_process_whose_secrets_redis_lost_to_a_newer_process_refuses_clearly(
    server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="loop.storage")
    async with process(server.url) as a:
        await a.client.register()
        server.kill()
        server.start()

        async with process(server.url) as b:  # starts first on the empty Redis
            assert b.services.settings.hawk_id_secret != a.services.settings.hawk_id_secret
            on_b = await b.client.register()

            assert_refused(await a.client.post("/registration", json={}), a)
            assert_refused(await a.client.get("/rooms", hawk=on_b), a)
            await assert_unhealthy(a)
            assert await works(b, on_b)
            lines = diverged_lines(caplog, *secrets_of(a).values(), *secrets_of(b).values())
            assert [getattr(line, "check", None) for line in lines] == ["connect"]

            async with process(server.url) as a_restarted:
                assert secrets_of(a_restarted) == secrets_of(b)
                assert await works(a_restarted, on_b)
                assert await works(b, await a_restarted.client.register())


# -- FLUSHALL: no reconnection, the periodic check -----------------------------------------


async def test_the_periodic_check_reseeds_a_flushed_redis_before_any_request(
    server: RedisServer,
) -> None:
    async with process(server.url, interval=QUICK) as a:
        with redis.Redis.from_url(server.url, decode_responses=True) as admin:
            stored = admin.hgetall(keys.SECRETS)
            admin.flushall()
            await eventually(lambda: admin.hgetall(keys.SECRETS) == stored, what="re-seeding")
        async with process(server.url) as b:
            assert secrets_of(b) == secrets_of(a)
            assert await works(a, await b.client.register())


async def test_the_periodic_check_finds_other_secrets_written_after_a_flushall(
    server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="loop.storage")
    async with process(server.url, interval=QUICK) as a:
        on_a = await a.client.register()
        assert await works(a, on_a)
        with redis.Redis.from_url(server.url, decode_responses=True) as admin:
            with admin.pipeline(transaction=True) as other_process_started:
                other_process_started.flushall()
                other_process_started.hset(keys.SECRETS, FINGERPRINT, "another")
                other_process_started.execute()

        async def refused() -> bool:
            return (await a.client.post("/registration", json={})).status_code == 503

        await eventually(refused, what="the periodic check")
        assert_refused(await a.client.get("/rooms", hawk=on_a), a)
        await assert_unhealthy(a)

        def periodic_lines() -> int:
            """A new pooled connection may find it too (``check="connect"``) under load."""
            lines = diverged_lines(caplog, *secrets_of(a).values())
            return sum(getattr(line, "check", None) == "periodic" for line in lines)

        await eventually(lambda: periodic_lines() >= 2, what="the line repeated by the next check")


# -- Configured secrets that differ: rotation ----------------------------------------------


def rotate(storage_url: str) -> None:
    """The documented step that lets new secrets in once every process has stopped."""
    if storage_url.startswith("redis"):
        with redis.Redis.from_url(storage_url) as admin:
            admin.hdel(keys.SECRETS, FINGERPRINT)
    else:
        with sqlite3.connect(storage_url.removeprefix("sqlite:///")) as db:
            db.execute("DELETE FROM secrets WHERE name = 'fingerprint'")
        db.close()


async def test_a_process_configured_with_other_secrets_refuses_to_start(
    storage_url: str,
) -> None:
    async with process(storage_url, hawk_id_secret=Secret("22" * 16)) as a:
        session = await a.client.register()
        with pytest.raises(ConfigError, match="^secrets: .*HDEL secrets fingerprint"):
            async with process(storage_url, hawk_id_secret=Secret("33" * 16)):
                pass
        assert await works(a, session)
        async with process(storage_url, hawk_id_secret=Secret("22" * 16)) as same:
            assert await works(same, session)

    rotate(storage_url)
    async with process(storage_url, hawk_id_secret=Secret("33" * 16)) as rotated:
        assert rotated.services.settings.hawk_id_secret == "33" * 16
        with pytest.raises(ConfigError):
            async with process(storage_url, hawk_id_secret=Secret("22" * 16)):
                pass


# -- SQLite: the file replaced under a running process ---------------------------------------


async def test_sqlite_processes_on_one_file_agree(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'loop.db'}"
    async with process(url) as a, process(url) as b:
        assert secrets_of(a) == secrets_of(b)
        assert await works(b, await a.client.register())
        assert await works(a, await b.client.register())


async def test_a_process_whose_sqlite_file_was_replaced_refuses_clearly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="loop.storage")
    path = tmp_path / "loop.db"
    url = f"sqlite:///{path}"
    async with process(url, interval=QUICK) as a:
        on_a = await a.client.register()
        for file in tmp_path.glob("loop.db*"):
            file.unlink()
        async with process(url) as b:  # a new file, new secrets
            on_b = await b.client.register()

            async def refused() -> bool:
                return (await a.client.get("/rooms", hawk=on_a)).status_code == 503

            await eventually(refused, what="the periodic check")
            assert_refused(await a.client.get("/rooms", hawk=on_b), a)
            await assert_unhealthy(a)
            assert await works(b, on_b)
            lines = diverged_lines(caplog, *secrets_of(a).values(), *secrets_of(b).values())
            assert lines and {getattr(line, "check", None) for line in lines} == {"file replaced"}
