"""``DELETE /account`` (decisions D13), ``DELETE /session`` (loop-api.md §3.9) and the
heartbeat's ``fxaVerifier`` check (§4.2), on both backends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from loop.config import ConfigError, load_settings
from loop.storage.testing.sessions import auth
from tests.routes.conftest import Harness
from tests.support.client import assert_error
from tests.support.fxa_server import FxaServer
from tests.support.rooms import ROOM, create_room, harness_with, join, registered, user_key

ALICE = "alice@example.com"


async def test_delete_account_forgets_everything_of_the_user(harness: Harness) -> None:
    laptop = await registered(harness, ALICE)
    phone = await registered(harness, ALICE.upper())
    push = {"simplePushURLs": {"rooms": "https://push.example/phone"}}
    assert (await harness.client.post("/registration", json=push, hawk=phone)).status_code == 200
    room = await create_room(harness, laptop)
    assert (await join(harness, room["roomToken"], phone)).status_code == 200
    bob = await registered(harness, "bob@example.com")
    bobs = await create_room(harness, bob)

    response = await harness.client.delete("/account", hawk=laptop)
    assert response.status_code == 204 and response.content == b""

    for device in (laptop, phone):
        gone = await harness.client.get("/rooms", hawk=device)
        assert_error(gone, 401, 110, "Unknown credentials")
    storage, now = harness.services.storage, harness.clock.now()
    assert await storage.get_room(room["roomToken"], now=now) is None
    user = await auth(storage, user_key(harness, bob), now=now)
    assert user is not None
    assert await storage.get_room(bobs["roomToken"], now=now) is not None


async def test_a_new_sign_in_after_deletion_starts_empty(harness: Harness) -> None:
    first = await registered(harness, ALICE)
    await create_room(harness, first)
    assert (await harness.client.delete("/account", hawk=first)).status_code == 204
    again = await registered(harness, ALICE)
    assert (await harness.client.get("/rooms", hawk=again)).json() == []


async def test_a_guest_deletes_its_own_device(harness: Harness) -> None:
    guest = await harness.client.register()
    await harness.client.post("/rooms", json=ROOM, hawk=guest)
    assert (await harness.client.delete("/account", hawk=guest)).status_code == 204
    assert_error(await harness.client.get("/rooms", hawk=guest), 401, 110)


async def test_delete_account_needs_hawk(harness: Harness) -> None:
    response = await harness.client.delete("/account")
    assert_error(response, 401, 110)
    assert response.headers["www-authenticate"] == "Hawk"


async def test_delete_session_is_for_registered_users(harness: Harness) -> None:
    guest = await harness.client.register()
    response = await harness.client.delete("/session", hawk=guest)
    assert_error(response, 403, 110, "You should be a registered user to perform this action.")


async def test_delete_session_logs_out_only_this_device(harness: Harness) -> None:
    laptop = await registered(harness, ALICE)
    phone = await registered(harness, ALICE)
    await create_room(harness, laptop)
    assert (await harness.client.delete("/session", hawk=laptop)).status_code == 204
    assert_error(await harness.client.get("/rooms", hawk=laptop), 401, 110)
    assert len((await harness.client.get("/rooms", hawk=phone)).json()) == 1


# -- heartbeat ----------------------------------------------------------------------------


@pytest.fixture
def verifier() -> Iterator[FxaServer]:
    with FxaServer() as server:
        yield server


async def heartbeat_verifier(storage_url: str, url: str) -> bool:
    async with harness_with(storage_url, fxa_verifier=url) as harness:

        async def healthy() -> bool:
            return True

        harness.services.push.ping = healthy  # type: ignore[method-assign]
        response = await harness.client.get("/__heartbeat__")
        verifier_ok: bool = response.json()["fxaVerifier"]
        assert response.status_code == (200 if verifier_ok else 503)
        return verifier_ok


async def test_heartbeat_checks_the_verifiers_status(
    storage_url: str, verifier: FxaServer, refused_port: int
) -> None:
    assert await heartbeat_verifier(storage_url, verifier.url("/v2")) is True
    assert verifier.calls_to("/status")
    verifier.override("/status", 500, {})
    assert await heartbeat_verifier(storage_url, verifier.url("/v2")) is False
    assert await heartbeat_verifier(storage_url, f"http://127.0.0.1:{refused_port}/v2") is False


# -- configuration -------------------------------------------------------------------------


def test_a_trusted_issuer_with_a_bad_key_stops_the_server() -> None:
    environ = {"LOOP_BROWSERID__TRUSTED_ISSUERS": '{"idp.example": {"public_key": {"n": "1"}}}'}
    with pytest.raises(ConfigError, match="browserid.trusted_issuers.idp.example.public_key"):
        load_settings(environ=environ)


def test_trusted_issuers_come_from_the_environment() -> None:
    url = "http://127.0.0.1:9/.well-known/browserid"
    environ = {
        "LOOP_BROWSERID__TRUSTED_ISSUERS": f'{{"gw.example": {{"well_known_url": "{url}"}}}}'
    }
    settings = load_settings(environ=environ)
    assert settings.browserid.trusted_issuers == {"gw.example": {"well_known_url": url}}
    assert settings.msisdn.mount is False and settings.msisdn.prefix == "/msisdn"
