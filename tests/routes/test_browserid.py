"""``POST /registration`` with ``Authorization: BrowserID`` (loop-api.md §3.5,
msisdn-and-auth.md §3.2, decisions D20 and §6), on both backends.

Certificates and assertions are real (RSA keys); the remote verifier, the issuers'
``/.well-known/browserid`` documents and FxA are a loopback stand-in.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from loop import browserid
from loop.browserid import SecretKey
from loop.config import BrowserIDSettings
from tests.routes.conftest import Harness
from tests.support.client import HawkSession, assert_error
from tests.support.fxa_server import FxaServer
from tests.support.identities import (
    AUDIENCE,
    FXA_ISSUER,
    Certifier,
    backed_assertion,
    fxa_claims,
    msisdn_claims,
)
from tests.support.rooms import ROOM, harness_with, join

GATEWAY = "msisdn.example"
EMAIL = "Alice@Example.com"
NUMBER = "+33623456789"


@pytest.fixture(scope="module")
def fxa() -> Certifier:
    return Certifier.generate(FXA_ISSUER)


@pytest.fixture(scope="module")
def gateway() -> Certifier:
    return Certifier.generate(GATEWAY)


@pytest.fixture(scope="module")
def devices() -> list[SecretKey]:
    return [browserid.generate("RS256") for _ in range(2)]


@pytest.fixture
def fxa_server() -> Iterator[FxaServer]:
    with FxaServer() as server:
        yield server


def trusting(*certifiers: Certifier, **extra: dict[str, Any]) -> BrowserIDSettings:
    issuers: dict[str, dict[str, Any]] = {
        c.issuer: {"public_key": c.public_key.to_json()} for c in certifiers
    }
    return BrowserIDSettings(trusted_issuers={**issuers, **extra})


@pytest.fixture
async def local(storage_url: str, fxa: Certifier, gateway: Certifier) -> AsyncIterator[Harness]:
    """Both issuers verified locally with configured keys; no remote verifier."""
    async with harness_with(
        storage_url, fxa_audiences=[AUDIENCE], browserid=trusting(fxa, gateway)
    ) as harness:
        yield harness


async def sign_in(harness: Harness, assertion: str) -> Any:
    return await harness.client.post(
        "/registration", json={}, headers={"Authorization": f"BrowserID {assertion}"}
    )


def assertion_for(
    harness: Harness, certifier: Certifier, device: SecretKey, claims: dict[str, Any], **kw: Any
) -> str:
    now = harness.clock.now()
    certificate = certifier.certify(device, now=now, claims=claims)
    return backed_assertion(certificate, device, now=now, **kw)


def assert_refused(response: Any, error: str = "Unauthorized") -> None:
    assert_error(response, 401, 110, error)
    expected = "BrowserID" if error == "Unauthorized" else f'BrowserID error="{error}"'
    assert response.headers["www-authenticate"] == expected
    assert "hawk-session-token" not in response.headers


def session_of(response: Any) -> HawkSession:
    assert response.status_code == 200, response.text
    assert response.headers["access-control-expose-headers"] == "Hawk-Session-Token"
    token = response.headers["hawk-session-token"]
    assert re.fullmatch("[0-9a-f]{64}", token)
    return HawkSession.from_token(token)


# -- signing in -------------------------------------------------------------------------


async def test_an_fxa_user_signs_in_as_a_registered_user(
    local: Harness, fxa: Certifier, devices: list[SecretKey]
) -> None:
    response = await sign_in(local, assertion_for(local, fxa, devices[0], fxa_claims(EMAIL)))
    session = session_of(response)
    assert response.content == b""
    logout = await local.client.delete("/session", hawk=session)
    assert logout.status_code == 204


async def test_a_verified_number_signs_in(
    local: Harness, gateway: Certifier, devices: list[SecretKey]
) -> None:
    assertion = assertion_for(local, gateway, devices[0], msisdn_claims(NUMBER))
    session = session_of(await sign_in(local, assertion))
    room = await local.client.post("/rooms", json=ROOM, hawk=session)
    assert room.status_code == 201


async def test_the_sign_in_request_also_registers_push_targets(
    local: Harness, fxa: Certifier, devices: list[SecretKey]
) -> None:
    assertion = assertion_for(local, fxa, devices[0], fxa_claims(EMAIL))
    response = await local.client.post(
        "/registration",
        json={"simplePushURLs": {"rooms": "https://push.example/rooms"}},
        headers={"Authorization": f"BrowserID {assertion}"},
    )
    session_of(response)
    services = local.services
    user = _user_mac(local, EMAIL)
    targets = await services.storage.push_targets(user, "rooms", now=local.clock.now())
    assert targets == ["https://push.example/rooms"]


async def test_an_fxa_users_devices_own_the_same_rooms(
    local: Harness, fxa: Certifier, devices: list[SecretKey]
) -> None:
    laptop = session_of(
        await sign_in(local, assertion_for(local, fxa, devices[0], fxa_claims(EMAIL)))
    )
    phone = session_of(
        await sign_in(local, assertion_for(local, fxa, devices[1], fxa_claims(EMAIL.lower())))
    )
    created = await local.client.post("/rooms", json=ROOM, hawk=laptop)
    token = created.json()["roomToken"]
    listed = await local.client.get("/rooms", hawk=phone)
    assert [room["roomToken"] for room in listed.json()] == [token]
    renamed = await local.client.patch(
        f"/rooms/{token}", json={"context": ROOM["context"]}, hawk=phone
    )
    assert renamed.status_code == 200, renamed.text
    assert (await join(local, token, phone, name="Phone")).status_code == 200
    view = await local.client.get(f"/rooms/{token}", hawk=laptop)
    [participant] = view.json()["participants"]
    assert participant["account"] == EMAIL.lower()
    assert participant["owner"] is True


async def test_a_guest_does_not_see_the_users_rooms(
    local: Harness, fxa: Certifier, devices: list[SecretKey]
) -> None:
    user = session_of(
        await sign_in(local, assertion_for(local, fxa, devices[0], fxa_claims(EMAIL)))
    )
    await local.client.post("/rooms", json=ROOM, hawk=user)
    guest = await local.client.register()
    assert (await local.client.get("/rooms", hawk=guest)).json() == []


# -- refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize("header", ["BrowserID", "BrowserID  a", "BrowserID a b", "browserid"])
async def test_an_ill_formed_header_is_unauthorized(local: Harness, header: str) -> None:
    response = await local.client.post("/registration", json={}, headers={"Authorization": header})
    assert_refused(response)


async def test_a_wrong_audience_is_invalid(
    local: Harness, fxa: Certifier, devices: list[SecretKey]
) -> None:
    assertion = assertion_for(
        local, fxa, devices[0], fxa_claims(EMAIL), audience="https://evil.example"
    )
    assert_refused(await sign_in(local, assertion), "Invalid audience")


async def test_an_undecodable_audience_is_malformed(local: Harness) -> None:
    assert_refused(await sign_in(local, "cert~not.a-jws"), "Malformed audience")


async def test_no_configured_audience_refuses_everything(
    storage_url: str, fxa: Certifier, devices: list[SecretKey]
) -> None:
    async with harness_with(storage_url, browserid=trusting(fxa)) as harness:
        assertion = assertion_for(harness, fxa, devices[0], fxa_claims(EMAIL))
        assert_refused(await sign_in(harness, assertion), "Invalid audience")


async def test_a_forged_certificate_is_unauthorized(
    local: Harness, devices: list[SecretKey]
) -> None:
    impostor = Certifier.generate(FXA_ISSUER)
    assertion = assertion_for(local, impostor, devices[0], fxa_claims(EMAIL))
    assert_refused(await sign_in(local, assertion))


async def test_an_assertion_signed_by_another_key_is_unauthorized(
    local: Harness, fxa: Certifier, devices: list[SecretKey]
) -> None:
    now = local.clock.now()
    certificate = fxa.certify(devices[0], now=now, claims=fxa_claims(EMAIL))
    assert_refused(await sign_in(local, backed_assertion(certificate, devices[1], now=now)))


async def test_an_expired_assertion_is_unauthorized(
    local: Harness, fxa: Certifier, devices: list[SecretKey]
) -> None:
    assertion = assertion_for(local, fxa, devices[0], fxa_claims(EMAIL), duration=60)
    local.clock.advance(61)
    assert_refused(await sign_in(local, assertion))


async def test_an_expired_certificate_is_unauthorized(
    local: Harness, fxa: Certifier, devices: list[SecretKey]
) -> None:
    now = local.clock.now()
    certificate = fxa.certify(devices[0], now=now - 7200, claims=fxa_claims(EMAIL))
    assert_refused(await sign_in(local, backed_assertion(certificate, devices[0], now=now)))


async def test_an_untrusted_issuer_is_refused_without_asking_anyone(
    local: Harness, devices: list[SecretKey], fxa_server: FxaServer
) -> None:
    stranger = Certifier.generate("idp.stranger.example")
    assertion = assertion_for(local, stranger, devices[0], fxa_claims(EMAIL))
    assert_refused(await sign_in(local, assertion), "Issuer is not trusted")


async def test_certificate_chains_are_unauthorized(
    local: Harness, fxa: Certifier, devices: list[SecretKey]
) -> None:
    now = local.clock.now()
    certificate = fxa.certify(devices[0], now=now, claims=fxa_claims(EMAIL))
    assertion = browserid.sign_assertion(devices[0], audience=AUDIENCE, now=now)
    chained = browserid.bundle([certificate, certificate], assertion)
    assert_refused(await sign_in(local, chained))


async def test_a_certificate_without_identity_is_invalid(
    local: Harness, fxa: Certifier, devices: list[SecretKey]
) -> None:
    assertion = assertion_for(local, fxa, devices[0], {"fxa-generation": 1})
    response = await sign_in(local, assertion)
    assert_error(response, 400, 110, "BrowserID assertion is invalid")
    assert "hawk-session-token" not in response.headers


# -- keys from /.well-known/browserid -------------------------------------------------------


async def test_keys_are_fetched_from_the_issuer_and_cached(
    storage_url: str, gateway: Certifier, devices: list[SecretKey], fxa_server: FxaServer
) -> None:
    fxa_server.serve_well_known(gateway.well_known())
    url = fxa_server.url("/.well-known/browserid")
    settings = BrowserIDSettings(trusted_issuers={GATEWAY: {"well_known_url": url}})
    async with harness_with(storage_url, fxa_audiences=[AUDIENCE], browserid=settings) as h:
        for device in devices:
            session_of(await sign_in(h, assertion_for(h, gateway, device, msisdn_claims(NUMBER))))
        assert len(fxa_server.calls_to("/.well-known/browserid")) == 1
        h.clock.advance(settings.well_known_ttl + 1)
        session_of(await sign_in(h, assertion_for(h, gateway, devices[0], msisdn_claims(NUMBER))))
        assert len(fxa_server.calls_to("/.well-known/browserid")) == 2


async def test_unreachable_keys_are_a_401_naming_the_issuer(
    storage_url: str,
    gateway: Certifier,
    devices: list[SecretKey],
    fxa_server: FxaServer,
    refused_port: int,
) -> None:
    fxa_server.serve_well_known(None)
    urls = [fxa_server.url("/.well-known/browserid"), f"http://127.0.0.1:{refused_port}/x"]
    for url in urls:
        settings = BrowserIDSettings(trusted_issuers={GATEWAY: {"well_known_url": url}})
        async with harness_with(storage_url, fxa_audiences=[AUDIENCE], browserid=settings) as h:
            assertion = assertion_for(h, gateway, devices[0], msisdn_claims(NUMBER))
            assert_refused(
                await sign_in(h, assertion), f"Unable to fetch the public key of {GATEWAY}"
            )


# -- the remote verifier ------------------------------------------------------------------


@pytest.fixture
async def remote(
    storage_url: str, fxa: Certifier, fxa_server: FxaServer
) -> AsyncIterator[Harness]:
    """FxA certificates go to the remote verifier, which trusts ``fxa``."""
    fxa_server.trust(FXA_ISSUER, fxa.public_key)
    async with harness_with(
        storage_url, fxa_audiences=[AUDIENCE], fxa_verifier=fxa_server.url("/v2")
    ) as harness:
        yield harness


async def test_the_remote_verifier_okays_a_sign_in(
    remote: Harness, fxa: Certifier, devices: list[SecretKey], fxa_server: FxaServer
) -> None:
    assertion = assertion_for(remote, fxa, devices[0], fxa_claims(EMAIL))
    session_of(await sign_in(remote, assertion))
    [call] = fxa_server.calls_to("/v2")
    assert call.json == {"audience": AUDIENCE, "assertion": assertion}


async def test_a_remote_failure_is_a_bare_unauthorized(
    remote: Harness, devices: list[SecretKey]
) -> None:
    impostor = Certifier.generate(FXA_ISSUER)
    assert_refused(await sign_in(remote, assertion_for(remote, impostor, devices[0], {})))


async def test_a_remote_okay_for_an_untrusted_issuer_is_refused(
    remote: Harness, fxa: Certifier, devices: list[SecretKey], fxa_server: FxaServer
) -> None:
    okay = {"status": "okay", "issuer": "evil.example", "idpClaims": fxa_claims(EMAIL)}
    fxa_server.override("/v2", 200, okay)
    assertion = assertion_for(remote, fxa, devices[0], fxa_claims(EMAIL))
    assert_refused(await sign_in(remote, assertion), "Issuer is not trusted")


@pytest.mark.parametrize(("status", "body"), [(200, "<html>"), (502, ""), (200, "[1]")])
async def test_a_remote_answer_that_is_not_json_is_unavailability(
    remote: Harness,
    fxa: Certifier,
    devices: list[SecretKey],
    fxa_server: FxaServer,
    status: int,
    body: str,
) -> None:
    fxa_server.override("/v2", status, body)
    assertion = assertion_for(remote, fxa, devices[0], fxa_claims(EMAIL))
    url = fxa_server.url("/v2")
    error = f"Verifier service unavailable: {url} returned a {status}"
    assert_refused(await sign_in(remote, assertion), error)


async def test_an_unreachable_verifier_is_a_401_with_the_transport_error(
    storage_url: str, fxa: Certifier, devices: list[SecretKey], refused_port: int
) -> None:
    verifier = f"http://127.0.0.1:{refused_port}/v2"
    async with harness_with(storage_url, fxa_audiences=[AUDIENCE], fxa_verifier=verifier) as h:
        response = await sign_in(h, assertion_for(h, fxa, devices[0], fxa_claims(EMAIL)))
    assert_error(response, 401, 110)
    error = response.json()["error"]
    assert error not in ("Unauthorized", "Issuer is not trusted")
    assert response.headers["www-authenticate"] == f'BrowserID error="{error}"'


def _user_mac(harness: Harness, identity: str) -> str:
    from loop.identity import user_mac

    return user_mac(harness.services.settings, identity)
