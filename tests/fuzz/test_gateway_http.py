"""A seeded fuzz run over every HTTP endpoint of the MSISDN gateway, on both backends
(issue 12): as for the Loop app (``test_loop_http``), ``LOOP_FUZZ_REQUESTS`` requests,
none answered 5xx, every error the gateway's JSON body (msisdn-and-auth.md §1.1-§1.2).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
import redis
from anyio.from_thread import start_blocking_portal

from loop import browserid
from loop.msisdn.app import create_gateway_app
from tests.fuzz.gateway_world import (
    ENDPOINTS,
    GOOD,
    PREFIXES,
    QUERIES,
    gateway_targets,
    gateway_world,
)
from tests.fuzz.routes import missing
from tests.fuzz.runner import REQUESTS, fuzz
from tests.fuzz.values import rounds
from tests.msisdn.conftest import gateway_settings
from tests.support.sms_server import SmsServer


@pytest.fixture(scope="module")
def server_key() -> browserid.SecretKey:
    return browserid.generate("DS256")


@pytest.fixture
def sms() -> Iterator[SmsServer]:
    with SmsServer() as server:
        server.accept()
        yield server


@pytest.fixture(params=["sqlite", "redis"])
def gateway_storage(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The gateway's own storage: a SQLite file, or database 8 of the session's
    redis-server (as the gateway's tests use), emptied."""
    if request.param == "redis":
        redis_url: str = request.getfixturevalue("redis_url")
        url = redis_url.rsplit("/", 1)[0] + "/8"
        with redis.Redis.from_url(url) as client:
            client.flushdb()
        return url
    return f"sqlite:///{tmp_path / 'msisdn.db'}"


def test_every_route_has_a_strategy(server_key: browserid.SecretKey) -> None:
    """A new gateway route without an entry in ``ENDPOINTS`` fails here."""
    settings = gateway_settings(server_key, "", "sqlite:///:memory:", api_prefix=PREFIXES[0])
    assert missing(create_gateway_app(settings), ENDPOINTS, PREFIXES) == set()


def test_no_request_gets_a_5xx(
    gateway_storage: str, server_key: browserid.SecretKey, sms: SmsServer
) -> None:
    backend = gateway_storage.split(":", 1)[0]
    with start_blocking_portal() as portal:
        with portal.wrap_async_context_manager(
            gateway_world(gateway_storage, server_key, sms)
        ) as (app, world):
            targets = gateway_targets(app)

            fuzz(
                rounds(targets, GOOD, QUERIES), len(targets), partial(portal.call, world.send_all)
            )
    tally = world.tally
    print(tally.summary(f"gateway {backend}"))
    assert tally.failures == {}, "\n".join(f"{k}\n    {v}" for k, v in tally.failures.items())
    assert tally.requests >= REQUESTS
    assert set(tally.endpoints) == {target.name for target in targets}
