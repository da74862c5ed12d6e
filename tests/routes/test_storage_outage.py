"""Through the HTTP API: with Redis frozen (``SIGSTOP``) or killed, every request answers
503 errno 201 with ``Retry-After`` within ``storage.timeout``, however many wait at once
(more than the connection pool holds); once Redis is back the next request succeeds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable

import httpx
import pytest

from loop.config import StorageSettings
from loop.storage.redis import POOL_SIZE
from tests.routes.conftest import Harness
from tests.support.client import assert_error
from tests.support.redis_server import RedisServer
from tests.support.rooms import ROOM, create_room, harness_with

TIMEOUT = 0.5
MARGIN = 1.0
"""Scheduling slack on a busy two-core machine."""
REQUESTS = POOL_SIZE + 36


@pytest.fixture
def server(own_redis: RedisServer) -> RedisServer:
    return own_redis


@pytest.fixture
async def harness(server: RedisServer) -> AsyncIterator[Harness]:
    storage = StorageSettings(url=server.url, timeout=TIMEOUT)
    async with harness_with(server.url, storage=storage) as ready:
        try:
            yield ready
        finally:
            if server.running:
                server.thaw()


async def timed(request: Awaitable[httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await request
    return response, time.monotonic() - started


def assert_unavailable(harness: Harness, answers: list[tuple[httpx.Response, float]]) -> None:
    retry_after = str(harness.services.settings.retry_after)
    for response, elapsed in answers:
        assert_error(response, 503, 201)
        assert response.headers["Retry-After"] == retry_after
        assert elapsed < TIMEOUT + MARGIN, elapsed


async def test_requests_on_a_frozen_redis_answer_503_within_the_timeout(
    server: RedisServer, harness: Harness
) -> None:
    client = harness.client
    owner = await client.register()
    token = (await create_room(harness, owner, **ROOM))["roomToken"]
    server.freeze()

    answers = await asyncio.gather(
        *(timed(client.get(f"/rooms/{token}", hawk=owner)) for _ in range(REQUESTS)),
        *(timed(client.post("/registration", json={})) for _ in range(REQUESTS // 4)),
    )

    assert_unavailable(harness, list(answers))
    server.thaw()
    response, elapsed = await timed(client.get(f"/rooms/{token}", hawk=owner))
    assert response.status_code == 200, response.text
    assert response.json()["roomOwner"] == ROOM["roomOwner"]
    assert elapsed < TIMEOUT


async def test_requests_recover_when_a_killed_redis_restarts_on_the_same_port(
    server: RedisServer, harness: Harness
) -> None:
    client = harness.client
    await client.register()
    server.kill()

    answers = await asyncio.gather(
        *(timed(client.post("/registration", json={})) for _ in range(REQUESTS))
    )

    assert_unavailable(harness, list(answers))
    server.start()
    response = await client.post("/registration", json={})
    assert response.status_code == 200, response.text
    assert response.headers["Hawk-Session-Token"]
