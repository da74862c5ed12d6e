"""Quotas and rate limits on every limited endpoint (decisions D12, D32), on both backends:
429 errno 117 with the window's own ``Retry-After``, per session, per user and per client
address (clients here come from chosen addresses), counted in storage so a second app on
the same storage sees the counts; and the cap on rooms per user (403 errno 999)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
from starlette.applications import Starlette

from loop.app import Services, create_app, open_app
from loop.clock import FakeClock
from loop.config import FxaOAuthSettings, LimitsSettings
from tests.support.app import make_settings
from tests.support.calls import sign_in
from tests.support.client import HawkSession, LoopClient
from tests.support.rooms import ROOM

TOO_MANY = {"code": 429, "errno": 117, "error": "Too many requests; retry later."}
TOO_MANY_ROOMS = {
    "code": 403,
    "errno": 999,
    "error": "Too many rooms; delete one to create another.",
}
A, B = "192.0.2.1", "198.51.100.7"


class Limited:
    """An app with the limits under test, and clients calling it from chosen addresses."""

    def __init__(
        self, app: Starlette, services: Services, clock: FakeClock, stack: AsyncExitStack
    ) -> None:
        self.app = app
        self.services = services
        self.clock = clock
        self._stack = stack

    async def client(self, address: str) -> LoopClient:
        transport = httpx.ASGITransport(app=self.app, client=(address, 50000))
        http = httpx.AsyncClient(transport=transport, base_url="http://localhost:5000")
        await self._stack.enter_async_context(http)
        return LoopClient(http, self.clock)


@asynccontextmanager
async def limited_app(
    storage_url: str,
    *,
    clock: FakeClock | None = None,
    fxa_oauth: FxaOAuthSettings | None = None,
    trusted_proxies: tuple[str, ...] = (),
    **limits: int,
) -> AsyncIterator[Limited]:
    """An app with ``limits`` (:class:`LimitsSettings` fields). With ``clock``, a second
    app of the same deployment: same clock, storage kept as it is."""
    settings = make_settings(
        storage_url, limits=LimitsSettings(**limits), trusted_proxies=list(trusted_proxies)
    )
    if fxa_oauth is not None:
        settings = dataclasses.replace(settings, fxa_oauth=fxa_oauth)
    first = clock is None
    clock = clock or FakeClock(start=1_800_000_000.0)
    app = create_app(settings, clock=clock, background_jobs=False)
    services = await open_app(app, clock=clock, background_jobs=False)
    async with AsyncExitStack() as stack:
        stack.push_async_callback(services.close)
        if first:
            await services.storage.flush()
        yield Limited(app, services, clock, stack)


def assert_too_many(response: httpx.Response, retry_after: int) -> None:
    assert response.status_code == 429, response.text
    assert response.json() == TOO_MANY
    assert response.headers["Retry-After"] == str(retry_after)


async def test_registration_is_limited_per_address(storage_url: str) -> None:
    async with limited_app(storage_url, registrations_per_address=2) as lim:
        a, b = await lim.client(A), await lim.client(B)
        session = await a.register()
        lim.clock.advance(10)
        await a.register()
        lim.clock.advance(5)
        refused = await a.post("/registration", json={})
        assert_too_many(refused, 45)
        assert "Hawk-Session-Token" not in refused.headers
        invalid = await a.post("/registration", json={"simplePushURL": "nope"})
        assert_too_many(invalid, 45)  # refused before its body is answered, as before
        assert "Hawk-Session-Token" not in invalid.headers
        signed = await a.post("/registration", json={}, hawk=session)
        assert signed.status_code == 200  # an existing session creates nothing
        await b.register()
        lim.clock.advance(45)
        await a.register()


async def test_behind_a_trusted_proxy_the_forwarded_address_is_counted(
    storage_url: str,
) -> None:
    """Every request reaches the server from the proxy (A); the per-address window is the
    forwarded client's, and a forwarded address from an untrusted peer is ignored."""
    async with limited_app(storage_url, trusted_proxies=(A,), registrations_per_address=1) as lim:
        proxy, direct = await lim.client(A), await lim.client(B)
        first, second = {"X-Forwarded-For": "203.0.113.1"}, {"X-Forwarded-For": "203.0.113.2"}
        assert (await proxy.post("/registration", json={}, headers=first)).status_code == 200
        assert (await proxy.post("/registration", json={}, headers=second)).status_code == 200
        assert_too_many(await proxy.post("/registration", json={}, headers=first), 60)
        assert (await direct.post("/registration", json={}, headers=first)).status_code == 200
        assert_too_many(await direct.post("/registration", json={}, headers=second), 60)


async def test_oauth_sessions_count_as_registrations(storage_url: str) -> None:
    oauth = FxaOAuthSettings(activated=True, client_id="c", oauth_uri="http://127.0.0.1:9/v1")
    async with limited_app(storage_url, fxa_oauth=oauth, registrations_per_address=2) as lim:
        a = await lim.client(A)
        await a.register()
        assert (await a.post("/fxa-oauth/params", json={})).status_code == 200
        assert_too_many(await a.post("/fxa-oauth/params", json={}), 60)
        assert_too_many(await a.post("/registration", json={}), 60)


async def test_a_limit_of_zero_is_no_limit(storage_url: str) -> None:
    async with limited_app(storage_url, registrations_per_address=0) as lim:
        a = await lim.client(A)
        for _ in range(5):
            await a.register()


async def create_room(client: LoopClient, owner: HawkSession) -> httpx.Response:
    return await client.post("/rooms", json=ROOM, hawk=owner)


async def test_room_creation_is_limited_per_session_and_per_user(storage_url: str) -> None:
    async with limited_app(
        storage_url, rooms_per_session=2, rooms_per_user=3, rooms_per_user_period=3600
    ) as lim:
        a = await lim.client(A)
        laptop = await sign_in(lim.services, a, "alice@example.com")
        phone = await sign_in(lim.services, a, "alice@example.com")
        guest = await a.register()
        for _ in range(2):
            assert (await create_room(a, laptop)).status_code == 201
        lim.clock.advance(1)
        assert_too_many(await create_room(a, laptop), 59)
        assert (await create_room(a, phone)).status_code == 201
        assert_too_many(await create_room(a, phone), 3599)  # alice's third room this hour
        assert (await create_room(a, guest)).status_code == 201
        lim.clock.advance(59)
        assert_too_many(await create_room(a, laptop), 3540)
        lim.clock.advance(3540)
        assert (await create_room(a, laptop)).status_code == 201


async def test_rooms_per_user_are_capped(storage_url: str) -> None:
    async with limited_app(storage_url, max_rooms_per_user=2) as lim:
        a = await lim.client(A)
        alice, bob = await a.register(), await a.register()
        tokens = [(await create_room(a, alice)).json()["roomToken"] for _ in range(2)]
        refused = await create_room(a, alice)
        assert refused.status_code == 403
        assert refused.json() == TOO_MANY_ROOMS
        assert (await create_room(a, bob)).status_code == 201
        assert (await a.delete(f"/rooms/{tokens[0]}", hawk=alice)).status_code == 204
        assert (await create_room(a, alice)).status_code == 201
        assert (await create_room(a, alice)).status_code == 403


async def join(client: LoopClient, token: str, hawk: HawkSession | None = None) -> httpx.Response:
    body = {"action": "join", "displayName": "Guest", "clientMaxSize": 10}
    return await client.post(f"/rooms/{token}", json=body, hawk=hawk)


async def test_anonymous_joins_are_limited_per_address(storage_url: str) -> None:
    async with limited_app(storage_url, joins_per_address=2) as lim:
        a, b = await lim.client(A), await lim.client(B)
        owner = await a.register()
        first = (await create_room(a, owner)).json()["roomToken"]
        second = (await create_room(a, owner)).json()["roomToken"]
        assert (await join(a, first)).status_code == 200
        lim.clock.advance(20)
        assert (await join(a, second)).status_code == 200
        assert_too_many(await join(a, first), 40)
        assert (await join(b, first)).status_code == 200
        assert (await join(a, first, hawk=owner)).status_code == 200  # Hawk joins: not limited
        lim.clock.advance(40)
        assert (await join(a, first)).status_code == 200


async def direct_call(client: LoopClient, caller: HawkSession) -> httpx.Response:
    body = {"calleeId": "nobody@example.com", "callType": "audio"}
    return await client.post("/calls", json=body, hawk=caller)


async def test_direct_calls_are_limited_per_session_and_per_address(storage_url: str) -> None:
    async with limited_app(storage_url, calls_per_session=2, calls_per_address=3) as lim:
        a, b = await lim.client(A), await lim.client(B)
        alice = await sign_in(lim.services, a, "alice@example.com")
        bob = await sign_in(lim.services, a, "bob@example.com")
        for _ in range(2):  # nobody is reachable: each attempt still counts
            assert (await direct_call(a, alice)).json()["errno"] == 122
        lim.clock.advance(30)
        assert_too_many(await direct_call(a, alice), 30)  # alice's session
        assert (await direct_call(a, bob)).json()["errno"] == 122
        assert_too_many(await direct_call(a, bob), 30)  # two sessions, one address
        assert (await direct_call(b, bob)).json()["errno"] == 122
        assert_too_many(await direct_call(b, bob), 60)  # his window opened at +30


async def test_link_calls_are_limited_per_address(storage_url: str) -> None:
    async with limited_app(storage_url, calls_per_address=2) as lim:
        a, b = await lim.client(A), await lim.client(B)
        owner = await a.register()
        created = await a.post("/call-url", json={"callerId": "Alice"}, hawk=owner)
        path = f"/calls/{created.json()['callToken']}"
        for _ in range(2):
            assert (await a.post(path, json={"callType": "audio"})).status_code == 200
        lim.clock.advance(1)
        assert_too_many(await a.post(path, json={"callType": "audio"}), 59)
        assert (await b.post(path, json={"callType": "audio"})).status_code == 200


async def test_a_second_app_on_the_same_storage_sees_the_counts(storage_url: str) -> None:
    async with limited_app(storage_url, registrations_per_address=2, rooms_per_session=1) as one:
        first = await one.client(A)
        owner = await first.register()
        await first.register()
        assert (await create_room(first, owner)).status_code == 201
        one.clock.advance(10)
        same = one.services.settings.limits
        async with limited_app(
            storage_url,
            clock=one.clock,
            registrations_per_address=same.registrations_per_address,
            rooms_per_session=same.rooms_per_session,
        ) as two:
            second = await two.client(A)
            assert_too_many(await second.post("/registration", json={}), 50)
            assert_too_many(await create_room(second, owner), 50)
            assert (await (await two.client(B)).post("/registration", json={})).status_code == 200


async def test_the_defaults_leave_a_busy_user_alone(storage_url: str) -> None:
    async with limited_app(storage_url) as lim:
        a = await lim.client(A)
        owner = await a.register()
        for _ in range(20):
            token = (await create_room(a, owner)).json()["roomToken"]
            assert (await join(a, token)).status_code == 200
