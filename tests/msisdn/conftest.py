"""Fixtures for the gateway: its app on SQLite and Redis, a stand-in Nexmo, a Hawk client."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from loop import browserid
from loop.clock import FakeClock
from loop.msisdn.app import Gateway, create_gateway_app, open_gateway
from loop.msisdn.config import (
    BrowserIDSettings,
    MsisdnSettings,
    NexmoSettings,
    SmsGatewaysSettings,
    StorageSettings,
)
from loop.msisdn.storage import from_url
from tests.support.client import HawkSession, LoopClient
from tests.support.sms_server import SmsServer

HOST = "msisdn.test"
MSISDN = "+33623456789"


@pytest.fixture(scope="session")
def server_key() -> browserid.SecretKey:
    """One DS256 key pair for the session (generating one costs a fraction of a second)."""
    return browserid.generate("DS256")


@pytest.fixture(scope="session")
def sms_server() -> Iterator[SmsServer]:
    with SmsServer() as server:
        yield server


@pytest.fixture
def sms(sms_server: SmsServer) -> SmsServer:
    sms_server.accept()
    sms_server.messages.clear()
    return sms_server


def gateway_settings(
    server_key: browserid.SecretKey, endpoint: str, storage_url: str, **overrides: Any
) -> MsisdnSettings:
    settings = MsisdnSettings(
        env="test",
        storage=StorageSettings(url=storage_url),
        browserid=BrowserIDSettings(
            public_key=json.dumps(server_key.public.to_json()),
            secret_key=json.dumps(server_key.to_json()),  # type: ignore[arg-type]
        ),
        sms_gateways=SmsGatewaysSettings(
            nexmo=NexmoSettings(endpoint=endpoint, api_key="k", priority=10)
        ),
    )
    return dataclasses.replace(settings, **overrides)


@dataclasses.dataclass
class Env:
    app: Starlette
    gateway: Gateway
    clock: FakeClock
    client: LoopClient
    sms: SmsServer

    async def register(self) -> HawkSession:
        response = await self.client.post("/register")
        assert response.status_code == 200, response.text
        return HawkSession.from_token(response.json()["msisdnSessionToken"])

    async def verified(self, msisdn: str = MSISDN, **body: Any) -> HawkSession:
        """A session whose number went through ``sms/mt/verify`` and ``verify_code``."""
        session = await self.register()
        await self.send_code(session, msisdn, **body)
        code = self.sms.last_to(msisdn).text.split()[-1]
        response = await self.client.post("/sms/verify_code", json={"code": code}, hawk=session)
        assert response.status_code == 200, response.text
        return session

    async def send_code(self, session: HawkSession, msisdn: str = MSISDN, **body: Any) -> None:
        payload = {"msisdn": msisdn, "mcc": "208", **body}
        response = await self.client.post("/sms/mt/verify", json=payload, hawk=session)
        assert response.status_code == 204, response.text


Factory = Callable[..., Any]


@pytest.fixture(params=["sqlite", "redis"])
async def make_env(
    request: pytest.FixtureRequest, server_key: browserid.SecretKey, sms: SmsServer, tmp_path: Any
) -> AsyncIterator[Factory]:
    """``await make_env(**settings_overrides)`` → a running gateway on each backend."""
    opened: list[tuple[Gateway, httpx.AsyncClient]] = []
    if request.param == "redis":
        url = request.getfixturevalue("redis_url").rsplit("/", 1)[0] + "/8"
    else:
        url = f"sqlite:///{tmp_path / 'msisdn.db'}"

    async def factory(sms_factory: Any = None, **overrides: Any) -> Env:
        settings = gateway_settings(server_key, sms.endpoint, url, **overrides)
        clock = FakeClock(start=float(int(time.time())))
        app = create_gateway_app(settings, clock=clock, sms=sms_factory)
        storage = await from_url(settings.storage_url)
        await storage.flush()
        services = await open_gateway(app, clock=clock, storage=storage, sms=sms_factory)
        transport = httpx.ASGITransport(app=app, client=("10.0.0.1", 1234))
        http = httpx.AsyncClient(transport=transport, base_url=f"http://{HOST}")
        opened.append((services, http))
        return Env(app, services, clock, LoopClient(http, clock), sms)

    yield factory
    for services, http in opened:
        await http.aclose()
        await services.close()


@pytest.fixture
async def env(make_env: Factory) -> Env:
    result: Env = await make_env()
    return result
