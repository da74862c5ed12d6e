"""Every HTTP test runs on both backends (the Starlette way: one parametrized fixture)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from loop.app import Services
from loop.clock import FakeClock
from tests.support.app import make_settings, running_app
from tests.support.client import LoopClient


@pytest.fixture(params=["", "/v0"], ids=["root", "v0"])
def prefix(request: pytest.FixtureRequest) -> str:
    """Tests that take ``prefix`` run at ``/`` and under ``/v0``."""
    param: str = request.param
    return param


class Harness:
    def __init__(self, services: Services, clock: FakeClock, client: LoopClient) -> None:
        self.services = services
        self.clock = clock
        self.client = client


@pytest.fixture
async def harness(storage_url: str) -> AsyncIterator[Harness]:
    """App + services + a Hawk client at ``/`` (use ``client.prefix`` to change it)."""
    async with running_app(make_settings(storage_url)) as (app, services, clock):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://localhost:5000"
        ) as http:
            yield Harness(services, clock, LoopClient(http, clock))
