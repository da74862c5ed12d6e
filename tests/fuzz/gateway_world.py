"""The MSISDN gateway under fuzz, and the real things its requests name: a fresh session,
one whose number went through ``/sms/mt/verify`` and ``/sms/verify_code``, the codes the
stand-in SMS provider received, a device's public key.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from hypothesis import strategies as st
from starlette.applications import Starlette

from loop import browserid
from loop.clock import FakeClock
from loop.msisdn.app import create_gateway_app, open_gateway
from loop.msisdn.config import RateLimitSettings, SmsMappingSettings
from loop.msisdn.routes.public import WARNING_PATH
from loop.msisdn.storage import from_url
from tests.fuzz.routes import Endpoint, Target, targets, unprefixed
from tests.fuzz.runner import World
from tests.fuzz.values import Plan, Ref
from tests.msisdn.conftest import gateway_settings
from tests.support.client import HawkSession
from tests.support.sms_server import SmsServer

MSISDN = "+33623456789"
MOMT = ("msisdn", "text", "network-code", "from", "message", "mccmnc", "to")
ENDPOINTS: dict[tuple[str, str], Endpoint] = {
    ("GET", "/"): Endpoint(),
    ("GET", "/__heartbeat__"): Endpoint(),
    ("GET", "/api-specs"): Endpoint(),
    ("POST", "/discover"): Endpoint(("mcc", "mnc", "msisdn", "roaming")),
    ("POST", "/register"): Endpoint(),
    ("GET", "/.well-known/browserid"): Endpoint(),
    ("GET", WARNING_PATH): Endpoint(),
    ("POST", "/unregister"): Endpoint(),
    ("POST", "/sms/mt/verify"): Endpoint(("msisdn", "mcc", "mnc", "shortVerificationCode")),
    ("GET", "/sms/momt/"): Endpoint(MOMT),
    ("POST", "/sms/momt/"): Endpoint(MOMT),
    ("GET", "/sms/momt"): Endpoint(MOMT),
    ("POST", "/sms/momt"): Endpoint(MOMT),
    ("POST", "/sms/verify_code"): Endpoint(("code",)),
    ("POST", "/certificate/sign"): Endpoint(("publicKey", "duration")),
}
"""Every route of the gateway (without its API prefix), and what its requests carry."""
PREFIXES = ("/v1/msisdn",)
QUERIES = [
    "?provider=nexmo",
    "?provider=beepsend",
    "?provider=nexmo&msisdn=33623456789&text=/sms/momt/verify%20x",
    "?provider=nexmo&msisdn=&network-code=2",
    "?provider=beepsend&from=%2B33623456789&message=a%20b",
]


def _refs(kind: str) -> st.SearchStrategy[Ref]:
    return st.builds(Ref, st.just(kind), st.integers(0, 3))


GOOD: dict[str, st.SearchStrategy[Any]] = {
    "mcc": st.sampled_from(["208", "310", "20"]),
    "mnc": st.sampled_from(["10", "01", "260", "1"]),
    "msisdn": _refs("msisdn"),
    "roaming": st.booleans(),
    "shortVerificationCode": st.booleans(),
    "text": _refs("motext"),
    "message": _refs("motext"),
    "network-code": st.sampled_from(["20810", "208", ""]),
    "from": _refs("msisdn"),
    "to": st.just("33700000000"),
    "mccmnc": st.fixed_dictionaries({"mcc": st.just("208"), "mnc": st.just("10")}),
    "code": _refs("code"),
    "publicKey": _refs("key"),
    "duration": st.integers(1, 86_400),
}


class GatewayWorld(World):
    gateway = True

    def __init__(self, http: httpx.AsyncClient, clock: FakeClock, sms: SmsServer) -> None:
        super().__init__(http, clock)
        self.sms = sms
        self.device = browserid.generate("RS256")
        self.guest: HawkSession | None = None
        self.verified: HawkSession | None = None
        self.batches = 0

    async def build(self) -> None:
        """A fresh session, and one whose number is verified."""
        self.guest = await self._register()
        self.verified = await self._register()
        body = {"msisdn": MSISDN, "mcc": "208"}
        sent = await self._post("/sms/mt/verify", body, self.verified)
        assert sent.status_code == 204, sent.text
        checked = await self._post("/sms/verify_code", {"code": self._code()}, self.verified)
        assert checked.status_code == 200, checked.text

    async def _register(self) -> HawkSession:
        response = await self.http.post("/register")
        assert response.status_code == 200, response.text
        return HawkSession.from_token(response.json()["msisdnSessionToken"])

    async def _post(self, path: str, body: Any, session: HawkSession) -> httpx.Response:
        plan = Plan(
            Target("POST", path, Endpoint()),
            "POST",
            None,
            "",
            body,
            "application/json",
            None,
            "guest",
        )
        content = json.dumps(body).encode()
        url = httpx.URL(str(self.http.base_url).rstrip("/") + path)
        authorization = self._hawk(session, plan, url, content)
        headers = {"Content-Type": "application/json", "Authorization": authorization}
        return await self.http.post(url, content=content, headers=headers)

    def _code(self) -> str:
        try:
            return self.sms.last_to(MSISDN).text.split()[-1]
        except AssertionError:
            return "0" * 32

    def resolve(self, ref: Ref) -> Any:
        assert self.guest is not None
        pick: dict[str, list[Any]] = {
            "msisdn": [MSISDN, "0623456789", "+1", "33623456789"],
            "motext": [f"/sms/momt/verify {self.guest.id}", f"x {self.guest.id}", "one"],
            "key": [json.dumps(self.device.public.to_json()), self.device.public.to_json()],
        }
        if ref.kind == "code":
            return self._code()
        choices = pick[ref.kind]
        return choices[ref.index % len(choices)]

    def session(self, kind: str) -> HawkSession:
        session = self.verified if kind == "registered" else self.guest
        assert session is not None
        return session

    async def send_all(self, batch: list[Plan]) -> None:
        """Send ``batch``, with fresh sessions every 20 batches and after ``/unregister``."""
        if self.guest is None or self.batches % 20 == 0:
            await self.build()
        self.batches += 1
        for plan in batch:
            response = await self.send(plan)
            route = unprefixed(plan.target.path, PREFIXES)
            if response.is_success and route == "/unregister":
                await self.build()


def gateway_targets(app: Starlette) -> list[Target]:
    return targets(app, ENDPOINTS, PREFIXES)


@asynccontextmanager
async def gateway_world(
    storage_url: str, server_key: browserid.SecretKey, sms: SmsServer
) -> AsyncIterator[tuple[Starlette, GatewayWorld]]:
    """The gateway on ``storage_url``, under an API prefix too, with an SMS-MO number and
    its rate limits off (they have their own tests; here they would only hide the rest)."""
    settings = gateway_settings(
        server_key,
        sms.endpoint,
        storage_url,
        api_prefix=PREFIXES[0],
        rate_limits=RateLimitSettings(
            short_code_per_session=0,
            sms_per_msisdn=0,
            verify_code_per_session=0,
            requests_per_ip=0,
        ),
        sms_mapping=SmsMappingSettings(mo_verifier="+33700000000"),
    )
    clock = FakeClock(start=float(int(time.time())))
    app = create_gateway_app(settings, clock=clock)
    storage = await from_url(settings.storage_url)
    await storage.flush()
    services = await open_gateway(app, clock=clock, storage=storage)
    transport = httpx.ASGITransport(app=app, client=("10.0.0.1", 1234))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://msisdn.test") as http:
            yield app, GatewayWorld(http, clock, sms)
    finally:
        await services.close()
