"""Web Push beside SimplePush through the HTTP API (D17, loop-api.md §4.5, §5.6, §7), on
both backends: real push services on loopback (Web Push over TLS, decrypting and
verifying every message), real storage, the app's own HTTP client."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
from collections.abc import AsyncIterator, Iterator

import pytest

from loop.app import Services
from loop.config import PushSettings, Secret
from loop.crypto import hmac_hex
from loop.push.vapid import VapidSigner, generate_private_key
from loop.storage import from_url as storage_from_url
from tests.routes.conftest import Harness
from tests.support.app import make_settings as settings_for
from tests.support.client import HawkSession
from tests.support.push_server import PushServer
from tests.support.rooms import act, basic, create_room, harness_with, joined, registered
from tests.support.waiting import DEADLINE
from tests.support.webpush_server import WebPushServer

OWNER = "alice@example.com"
PUSH = PushSettings(timeout=1.0, retries=1, retry_delay=0.05, max_retry_delay=1.0, close_grace=0.2)


@pytest.fixture(scope="module")
def webpush() -> Iterator[WebPushServer]:
    with WebPushServer() as server:
        yield server


@pytest.fixture
def web_push_service(webpush: WebPushServer, monkeypatch: pytest.MonkeyPatch) -> WebPushServer:
    """The module's Web Push service, trusted by the app's HTTP client (as an operator
    would with ``SSL_CERT_FILE``), with no rules or requests left from other tests."""
    monkeypatch.setenv("SSL_CERT_FILE", webpush.ca_file)
    webpush.reset()
    webpush.requests.clear()
    return webpush


@pytest.fixture
def simplepush() -> Iterator[PushServer]:
    with PushServer() as server:
        yield server


@pytest.fixture
async def harness(storage_url: str, web_push_service: WebPushServer) -> AsyncIterator[Harness]:
    async with harness_with(storage_url, push=PUSH) as harness:
        yield harness


async def register(harness: Harness, session: HawkSession, rooms: object) -> None:
    body = {"simplePushURLs": {"rooms": rooms}}
    response = await harness.client.post("/registration", json=body, hawk=session)
    assert response.status_code == 200, response.text


async def vapid_public_key(harness: Harness) -> str:
    response = await harness.client.get("/push-server-config")
    assert response.status_code == 200
    key: str = response.json()["vapidPublicKey"]
    return key


# -- both kinds, every room event -------------------------------------------------------------


async def test_owner_devices_get_simplepush_and_web_push_for_every_room_event(
    harness: Harness, web_push_service: WebPushServer, simplepush: PushServer
) -> None:
    """Three devices of one signed-in user: a Web Push one, a SimplePush one, and a third
    that registered the same subscription as the first (one message, not two)."""
    phone, laptop, tablet = [await registered(harness, OWNER) for _ in range(3)]
    subscription = web_push_service.subscribe("alice-phone")
    await register(harness, phone, subscription)
    await register(harness, laptop, simplepush.url("/alice-laptop"))
    await register(harness, tablet, subscription)
    key = await vapid_public_key(harness)

    versions: list[int] = []

    async def expect_both(step: int) -> None:
        messages = await web_push_service.messages(step, key)
        puts = await simplepush.wait_for(step)
        version = int(harness.clock.now())
        assert messages[-1].payload == {"topic": "rooms", "version": version}
        assert puts[-1].form == {"version": str(version)}
        versions.append(version)

    token = (await create_room(harness, phone))["roomToken"]
    await expect_both(1)
    harness.clock.advance(10)
    media_token = await joined(harness, token)
    await expect_both(2)
    harness.clock.advance(10)
    response = await act(harness, token, "leave", headers=basic(media_token))
    assert response.status_code == 204
    await expect_both(3)
    harness.clock.advance(10)
    response = await harness.client.delete(f"/rooms/{token}", hawk=laptop)
    assert response.status_code == 204
    await expect_both(4)

    assert versions == sorted(set(versions))
    await harness.services.push.drain()  # then nothing else came: one message per event
    assert len(web_push_service.requests) == len(simplepush.requests) == 4
    assert {r.path for r in web_push_service.requests} == {"/wp/alice-phone"}


async def test_push_server_config_announces_the_vapid_key_that_signs(
    harness: Harness, web_push_service: WebPushServer
) -> None:
    key = await vapid_public_key(harness)
    raw = base64.urlsafe_b64decode(key + "=")
    assert len(raw) == 65 and raw[0] == 4
    assert key == harness.services.push.vapid_public_key
    owner = await registered(harness, OWNER)
    await register(harness, owner, web_push_service.subscribe("k"))
    await create_room(harness, owner)
    (message,) = await web_push_service.messages(1, key)  # verified with this key
    assert message.claims["aud"] == web_push_service.origin


# -- a subscription the push service reports gone ------------------------------------------


async def test_a_gone_subscription_is_removed_and_not_notified_again(
    harness: Harness, web_push_service: WebPushServer, simplepush: PushServer
) -> None:
    phone, laptop = await registered(harness, OWNER), await registered(harness, OWNER)
    subscription = web_push_service.subscribe("expired")
    await register(harness, phone, subscription)
    await register(harness, laptop, simplepush.url("/laptop"))
    owner = user_mac(harness, OWNER)
    web_push_service.respond_with(410)

    await create_room(harness, phone)  # the push service answers 410 to this creation
    await harness.services.push.drain()  # ... and the notifier forgets the subscription
    assert len(web_push_service.requests) == 1
    assert subscription not in await push_targets(harness, owner)
    await create_room(harness, phone)
    await harness.services.push.drain()
    assert len(web_push_service.requests) == 1
    assert len(simplepush.requests) == 2


def user_mac(harness: Harness, identity: str) -> str:
    """The signed-in user's key, as ``registered`` binds it."""
    settings = harness.services.settings
    return hmac_hex(settings.user_mac_secret, identity.lower(), settings.user_mac_algorithm)


async def push_targets(harness: Harness, user: str) -> list[object]:
    """What the user's devices registered for rooms, as the notifier would be given it."""
    storage = harness.services.storage
    return list(await storage.push_targets(user, "rooms", now=harness.clock.now()))


# -- push never slows the API ----------------------------------------------------------------


@pytest.mark.parametrize("behaviour", ["hang", "slow", "503"])
async def test_a_slow_or_failing_push_service_does_not_slow_the_request(
    storage_url: str, web_push_service: WebPushServer, simplepush: PushServer, behaviour: str
) -> None:
    """Both push services hold every delivery until released (a 503 first, in the last
    case, then the retry is held): the request answers while both deliveries are still
    pending, so it cannot have waited for them. Released, they finish on their own (the
    time limit that bounds them is tests/push's subject)."""
    for service in (web_push_service, simplepush):
        if behaviour == "hang":
            service.hang()
        elif behaviour == "slow":
            service.respond_with(200, delay=60)
        else:
            service.hang()
            service.respond_with(503, headers={"Retry-After": "1"}, times=1)
    patient = dataclasses.replace(PUSH, timeout=DEADLINE, max_retry_delay=5.0)
    async with harness_with(storage_url, push=patient) as harness:
        owner = await registered(harness, OWNER)
        other = await registered(harness, OWNER)
        await register(harness, owner, web_push_service.subscribe("slow"))
        await register(harness, other, simplepush.url("/slow"))

        async with asyncio.timeout(DEADLINE):  # were it waiting on push: a failure, not a hang
            await create_room(harness, owner)  # asserts the 201

        push = harness.services.push
        assert push.pending == 2  # both still held by their push service
        attempts = 2 if behaviour == "503" else 1
        await web_push_service.wait_for(attempts)
        await simplepush.wait_for(attempts)
        assert push.pending == 2
        web_push_service.release()
        simplepush.release()
        await push.drain()
        assert len(web_push_service.requests) == len(simplepush.requests) == attempts


# -- the VAPID key: generated once, kept by the storage ----------------------------------------


async def test_the_vapid_key_is_generated_once_and_shared_through_the_storage(
    storage_url: str,
) -> None:
    fresh = await storage_from_url(storage_url)
    await fresh.flush()
    await fresh.close()
    settings = settings_for(storage_url)

    first, second = await asyncio.gather(Services.open(settings), Services.open(settings))
    try:
        assert first.push.vapid_public_key is not None
        assert first.push.vapid_public_key == second.push.vapid_public_key
        assert first.settings.push.vapid_private_key == second.settings.push.vapid_private_key
    finally:
        await first.close()
        await second.close()

    reopened = await Services.open(settings)
    try:
        assert reopened.push.vapid_public_key == first.push.vapid_public_key
    finally:
        await reopened.close()


async def test_a_configured_vapid_key_wins(storage_url: str) -> None:
    key = generate_private_key()
    push = dataclasses.replace(PUSH, vapid_private_key=Secret(key))
    services = await Services.open(settings_for(storage_url, push=push))
    try:
        expected = VapidSigner.from_text(key, "mailto:x@example.com").public_key
        assert services.push.vapid_public_key == expected
    finally:
        await services.close()
