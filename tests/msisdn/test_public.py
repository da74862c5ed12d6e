"""Unauthenticated endpoints: service info, health, specs, discovery, registration, the
BrowserID support document (msisdn-and-auth.md §1.5)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from loop import browserid
from loop.crypto import hawk_credentials
from loop.msisdn.auth import hawk_id_hmac
from loop.msisdn.config import SmsMappingSettings
from loop.msisdn.storage.sqlite import SQLiteGatewayStorage
from tests.msisdn.conftest import HOST, MSISDN, Env, Factory
from tests.support.client import assert_error

MAPPING = SmsMappingSettings(
    mo_verifier="456",
    mt_sender_mapping={"310": "+15551230000", "20801": "+33700000001"},
    mo_verifier_mapping={"20801": "+33700000002"},
)


async def test_home(env: Env) -> None:
    body = (await env.client.get("/")).json()
    assert body["endpoint"] == f"http://{HOST}"
    assert {"name", "description", "version", "homepage"} <= body.keys()


async def test_home_hides_version(make_env: Factory) -> None:
    env = await make_env(display_version=False)
    assert "version" not in (await env.client.get("/")).json()


async def test_heartbeat(env: Env) -> None:
    response = await env.client.get("/__heartbeat__")
    assert (response.status_code, response.json()) == (200, {"storage": True})


async def test_heartbeat_reports_storage_down(env: Env) -> None:
    broken = SQLiteGatewayStorage(":memory:")
    await broken.close()
    await env.gateway.storage.close()
    env.gateway.storage = broken
    response = await env.client.get("/__heartbeat__")
    assert (response.status_code, response.json()) == (503, {"storage": False})


async def test_api_specs(env: Env) -> None:
    service = (await env.client.get("/api-specs")).json()["service"]
    assert service["location"] == f"http://{HOST}"
    assert service["resources"]["/discover"] == {"POST": {"max_body_size": "10k"}}


async def test_unknown_route(env: Env) -> None:
    response = await env.client.get("/nope")
    assert (response.status_code, response.json()) == (404, {"code": 404})


async def test_register_stores_hmac_of_hawk_id(env: Env) -> None:
    response = await env.client.post("/register")
    token = response.json()["msisdnSessionToken"]
    assert len(token) == 64 and int(token, 16) >= 0
    assert "Timestamp" in response.headers
    hawk_id, key = hawk_credentials(token)
    found = await env.gateway.storage.credentials(
        hawk_id_hmac(env.gateway.settings, hawk_id), now=env.clock.now()
    )
    assert found is not None and found.hawk_key == key


def test_hawk_id_hmac_vector() -> None:
    from loop.msisdn.config import MsisdnSettings

    settings = MsisdnSettings(hawk_id_secret="98a5a5a44efb0f01a1dee6e5b962c3c8")  # type: ignore[arg-type]
    hawk_id, key = hawk_credentials(bytes(range(32)).hex())
    assert hawk_id == "5fa7b1a9a3266f052b766e956f525b583607e777f264a5bb67b57ed5e34c2c5c"
    assert key == "4f05fbeb8c81b662f52d5c21595c1033a5126f3b7dabd872c4cfd8298254651c"
    assert hawk_id_hmac(settings, hawk_id) == (
        "18c9db40f14a13fb01a76bdfb6f3dff5eb66019b4b91afb4618db583b353251c"
    )


async def test_support_document(env: Env) -> None:
    document = (await env.client.get("/.well-known/browserid")).json()
    assert document["authentication"] == "/.well-known/browserid/warning.html"
    assert document["provisioning"] == "/.well-known/browserid/warning.html"
    assert browserid.support_document_keys(document)[0].algorithm == "DS256"
    page = await env.client.get("/.well-known/browserid/warning.html")
    assert page.headers["content-type"].startswith("text/html")


async def discover(env: Env, body: dict[str, Any]) -> Any:
    return await env.client.post("/discover", json=body)


async def test_discover_mt_only_by_default(env: Env) -> None:
    body = (await discover(env, {"mcc": "208"})).json()
    assert body == {
        "verificationMethods": ["sms/mt"],
        "verificationDetails": {
            "sms/mt": {"mtSender": "Mozilla@", "url": f"http://{HOST}/sms/mt/verify"}
        },
    }


async def test_discover_with_mo_verifier(make_env: Factory) -> None:
    env = await make_env(sms_mapping=MAPPING, api_prefix="/v1/msisdn")
    body = (await discover(env, {"mcc": "208", "mnc": "01", "msisdn": MSISDN})).json()
    assert body["verificationMethods"] == ["sms/mt", "sms/momt"]
    assert body["verificationDetails"]["sms/mt"] == {
        "mtSender": "+33700000001",
        "url": f"http://{HOST}/v1/msisdn/sms/mt/verify",
    }
    assert body["verificationDetails"]["sms/momt"] == {
        "mtSender": "+33700000001",
        "moVerifier": "+33700000002",
    }
    body = (await discover(env, {"mcc": "310", "mnc": None})).json()
    assert body["verificationMethods"] == ["sms/momt"]
    assert body["verificationDetails"]["sms/momt"]["moVerifier"] == "456"
    response = await discover(env, {"mcc": "310", "msisdn": "0623456789"})
    assert_error(response, 400, 107, "Invalid MSISDN number.")
    prefixed = await env.client.post(
        "/v1/msisdn/discover", json={"mcc": "208", "mnc": "01", "msisdn": MSISDN}
    )
    assert prefixed.status_code == 200
    assert prefixed.json()["verificationDetails"]["sms/mt"]["url"] == (
        f"http://{HOST}/v1/msisdn/sms/mt/verify"
    )


@pytest.mark.parametrize(
    ("body", "status", "errno", "error"),
    [
        ({}, 400, 108, "Missing mcc"),
        ({"mcc": None}, 400, 108, "Missing mcc"),
        ({"mcc": ""}, 400, 108, "Missing mcc"),
        ({"mcc": 208}, 400, 107, "Invalid MCC."),
        ({"mcc": "20"}, 400, 107, "Invalid MCC."),
        ({"mcc": ["208"]}, 400, 107, "Invalid MCC."),
    ],
)
async def test_discover_errors(
    env: Env, body: dict[str, Any], status: int, errno: int, error: str
) -> None:
    assert_error(await discover(env, body), status, errno, error)


async def test_discover_refuses_non_json_accept(env: Env) -> None:
    response = await env.client.post(
        "/discover", json={"mcc": "208"}, headers={"Accept": "text/html"}
    )
    assert_error(response, 406, 106, "Request body should be defined as application/json")


async def test_cors(env: Env) -> None:
    response = await env.client.get("/", headers={"Origin": "https://a.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "https://a.example"


async def test_settings_kept_in_storage(env: Env) -> None:
    again = await env.gateway.storage.ensure_secrets({"hawk_id_secret": "00" * 16})
    assert again["hawk_id_secret"] == env.gateway.settings.hawk_id_secret
    assert dataclasses.asdict(env.gateway.settings)["msisdn_id_secret"]
