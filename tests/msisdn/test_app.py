"""Configuration, the console command, and mounting into another app (decisions D20)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import mohawk
import pytest
from starlette.applications import Starlette

from loop import browserid
from loop.config import ConfigError
from loop.msisdn import cli
from loop.msisdn.app import mount_gateway
from loop.msisdn.config import load_msisdn_settings
from tests.msisdn.conftest import gateway_settings
from tests.support.client import HawkSession
from tests.support.sms_server import SmsServer


def test_environment_overrides(tmp_path: Path) -> None:
    config = tmp_path / "msisdn.toml"
    config.write_text(
        'api_prefix = "/v1/msisdn"\n'
        '[sms_gateways.nexmo]\npriority = 3\nendpoint = "https://sms.invalid/sms/json"\n'
    )
    settings = load_msisdn_settings(
        config,
        environ={
            "MSISDN_SMS_GATEWAYS__NEXMO__PRIORITY": "7",
            "MSISDN_SMS_MAPPING__MT_SENDER_MAPPING": '{"310": "+15551230000"}',
            "LOOP_PORT": "1",
        },
    )
    assert settings.api_prefix == "/v1/msisdn"
    assert settings.sms_gateways.nexmo.priority == 7
    assert settings.sms_mapping.mt_sender_mapping == {"310": "+15551230000"}


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"MSISDN_NB_CODE_TRIES": "x"}, "nb_code_tries"),
        ({"MSISDN_BOGUS": "1"}, "bogus"),
        ({"MSISDN_HAWK_ID_SECRET": "abc"}, "hawk_id_secret"),
        ({"MSISDN_ENV": "production", "MSISDN_SMS_GATEWAYS__LOG__PRIORITY": "1"}, "log"),
        ({"MSISDN_API_PREFIX": "/v1/"}, "api_prefix"),
        ({}, "sms_gateways: no SMS provider"),
        ({"MSISDN_SMS_GATEWAYS__NEXMO__PRIORITY": "1"}, "sms_gateways: no SMS provider"),
        (
            {"MSISDN_STORAGE__URL": "postgres://x", "MSISDN_SMS_GATEWAYS__LOG__PRIORITY": "1"},
            "storage.url: unsupported scheme 'postgres'",
        ),
        (
            {
                "MSISDN_TRUSTED_PROXIES": '["10.0.0.300"]',
                "MSISDN_SMS_GATEWAYS__LOG__PRIORITY": "1",
            },
            "trusted_proxies: '10.0.0.300'",
        ),
    ],
)
def test_invalid_settings_name_the_key(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_msisdn_settings(environ=environ)


def test_cli_check(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MSISDN_SMS_GATEWAYS__LOG__PRIORITY", "1")
    assert cli.main(["--check"]) == 0
    monkeypatch.setenv("MSISDN_PORT", "nope")
    assert cli.main(["--check"]) == 2
    assert "port" in capsys.readouterr().err


async def test_mounted_in_another_app(tmp_path: Path) -> None:
    """One process: the gateway under ``/msisdn``, its services opened by the host's
    lifespan, Hawk MACs over the full path the client used."""
    key = browserid.generate("DS128")
    with SmsServer() as sms:
        settings = gateway_settings(key, sms.endpoint, f"sqlite:///{tmp_path / 'g.db'}")
        host = Starlette()
        mount_gateway(host, settings)
        transport = httpx.ASGITransport(app=host)
        async with (
            host.router.lifespan_context(host),
            httpx.AsyncClient(transport=transport, base_url="http://loop.test") as client,
        ):
            discover = (await client.post("/msisdn/discover", json={"mcc": "208"})).json()
            url = discover["verificationDetails"]["sms/mt"]["url"]
            assert url == "http://loop.test/msisdn/sms/mt/verify"
            token = (await client.post("/msisdn/register")).json()["msisdnSessionToken"]
            session = HawkSession.from_token(token)
            body = json.dumps({"msisdn": "+33623456789", "mcc": "208"}).encode()
            sender = mohawk.Sender(
                session.credentials, url, "POST", content=body, content_type="application/json"
            )
            headers = {"Content-Type": "application/json", "Authorization": sender.request_header}
            response = await client.post("/msisdn/sms/mt/verify", content=body, headers=headers)
            assert response.status_code == 204, response.text
            assert len(sms.messages) == 1
