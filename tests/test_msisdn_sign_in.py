"""End to end: a phone number signs in to Loop through the MSISDN gateway, with the real
console commands on real sockets (decisions D20, msisdn-and-auth.md §1.6, §3.2).

The client verifies its number with the gateway (the code read from the SMS captured by a
stand-in provider), gets a certificate for its own key, builds a backed assertion for the
Loop server, signs in with it and owns a room whose participant list shows the number.
Twice: with the gateway mounted in the Loop process (its key read in-process), and as its
own service whose key Loop fetches from ``/.well-known/browserid``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from requests_hawk import HawkAuth  # type: ignore[import-untyped]

from loop import browserid
from tests.support.ports import free_port
from tests.support.servers import console_command
from tests.support.sms_server import SmsServer

NUMBER = "+33623456789"
CONTEXT = {"value": "b3BhcXVl", "alg": "AES-GCM", "wrappedKey": "d3JhcA=="}


def loop_env(port: int, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "LOOP_PORT": str(port),
        "LOOP_PUBLIC_SERVER_ADDRESS": f"127.0.0.1:{port}",
        "LOOP_STORAGE__URL": f"sqlite:///{tmp_path / 'loop.db'}",
        "LOOP_DATA_DIR": str(tmp_path / "loop-data"),
        "LOOP_PUSH_SERVER_URIS": "[]",
        "LOOP_FXA_VERIFIER": "",
        "LOOP_FXA_AUDIENCES": f'["http://127.0.0.1:{port}"]',
        **extra,
    }


def gateway_env(sms: SmsServer, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "MSISDN_ENV": "test",
        "MSISDN_STORAGE__URL": f"sqlite:///{tmp_path / 'msisdn.db'}",
        "MSISDN_DATA_DIR": str(tmp_path / "msisdn-data"),
        "MSISDN_SMS_GATEWAYS__NEXMO__ENDPOINT": sms.endpoint,
        "MSISDN_SMS_GATEWAYS__NEXMO__API_KEY": "key",
        "MSISDN_SMS_GATEWAYS__NEXMO__PRIORITY": "10",
        **extra,
    }


def certificate_for(gateway: str, sms: SmsServer, device: browserid.SecretKey) -> str:
    """The client's side of the SMS-MT flow (§1.6), up to its certificate."""
    token = requests.post(f"{gateway}/register", timeout=5).json()["msisdnSessionToken"]
    auth = HawkAuth(hawk_session=token, server_url=gateway)
    sent = requests.post(
        f"{gateway}/sms/mt/verify",
        json={"msisdn": NUMBER, "mcc": "208", "shortVerificationCode": True},
        auth=auth,
        timeout=5,
    )
    assert sent.status_code == 204, sent.text
    code = sms.last_to(NUMBER).text.split()[-1]
    verified = requests.post(
        f"{gateway}/sms/verify_code", json={"code": code}, auth=auth, timeout=5
    )
    assert verified.json() == {"msisdn": NUMBER}
    signed = requests.post(
        f"{gateway}/certificate/sign",
        json={"publicKey": json.dumps(device.public.to_json()), "duration": 3600},
        auth=auth,
        timeout=5,
    )
    assert signed.status_code == 200, signed.text
    certificate: str = signed.json()["cert"]
    return certificate


def sign_in_and_own_a_room(
    loop: str, audience: str, certificate: str, device: browserid.SecretKey
) -> None:
    """Loop's side: sign in with the backed assertion, create a room, join it, and see the
    number as the participant's ``account``."""
    assertion = browserid.sign_assertion(device, audience=audience, now=time.time())
    signed_in = requests.post(
        f"{loop}/registration",
        json={},
        headers={"Authorization": f"BrowserID {browserid.bundle([certificate], assertion)}"},
        timeout=5,
    )
    assert signed_in.status_code == 200, signed_in.text
    token = signed_in.headers["Hawk-Session-Token"]
    auth = HawkAuth(hawk_session=token, server_url=loop)
    bodyless = HawkAuth(hawk_session=token, server_url=loop, always_hash_content=False)
    room = requests.post(
        f"{loop}/rooms",
        json={"roomOwner": "Me", "maxSize": 2, "context": CONTEXT},
        auth=auth,
        timeout=5,
    )
    assert room.status_code == 201, room.text
    room_token = room.json()["roomToken"]
    joined = requests.post(
        f"{loop}/rooms/{room_token}",
        json={"action": "join", "displayName": "Me", "clientMaxSize": 2},
        auth=auth,
        timeout=5,
    )
    assert joined.status_code == 200, joined.text
    view = requests.get(f"{loop}/rooms/{room_token}", auth=bodyless, timeout=5).json()
    assert [p["account"] for p in view["participants"]] == [NUMBER]
    assert requests.delete(f"{loop}/session", auth=bodyless, timeout=5).status_code == 204


@pytest.fixture(scope="module")
def device() -> browserid.SecretKey:
    return browserid.generate("RS256")


@pytest.fixture
def sms() -> Iterator[SmsServer]:
    with SmsServer() as server:
        yield server


def test_a_number_signs_in_through_the_mounted_gateway(
    tmp_path: Path, sms: SmsServer, device: browserid.SecretKey
) -> None:
    port = free_port()
    env = loop_env(port, tmp_path, LOOP_MSISDN__MOUNT="true") | gateway_env(sms, tmp_path)
    with console_command("loop-server", port, tmp_path / "loop.log", env):
        origin = f"http://127.0.0.1:{port}"
        certificate = certificate_for(f"{origin}/msisdn", sms, device)
        sign_in_and_own_a_room(f"{origin}/v0", origin, certificate, device)


def test_a_number_signs_in_with_keys_fetched_from_the_gateway(
    tmp_path: Path, sms: SmsServer, device: browserid.SecretKey
) -> None:
    loop_port, gateway_port = free_port(), free_port()
    gateway = f"http://127.0.0.1:{gateway_port}"
    issuers = {f"127.0.0.1:{gateway_port}": {"well_known_url": f"{gateway}/.well-known/browserid"}}
    loop = loop_env(loop_port, tmp_path, LOOP_BROWSERID__TRUSTED_ISSUERS=json.dumps(issuers))
    msisdn = gateway_env(sms, tmp_path, MSISDN_PORT=str(gateway_port))
    with (
        console_command("loop-msisdn", gateway_port, tmp_path / "msisdn.log", msisdn),
        console_command("loop-server", loop_port, tmp_path / "loop.log", loop),
    ):
        certificate = certificate_for(gateway, sms, device)
        origin = f"http://127.0.0.1:{loop_port}"
        sign_in_and_own_a_room(f"{origin}/v0", origin, certificate, device)


def test_each_service_names_itself_in_its_logs(
    tmp_path: Path, sms: SmsServer, device: browserid.SecretKey
) -> None:
    """The gateway's MozLog lines say ``LoopMsisdn``, Loop's say ``Loop``, so a shared log
    pipeline tells them apart."""
    test_a_number_signs_in_with_keys_fetched_from_the_gateway(tmp_path, sms, device)
    for log, name in (("msisdn.log", "LoopMsisdn"), ("loop.log", "Loop")):
        lines = (tmp_path / log).read_text("utf-8").splitlines()
        entries = [json.loads(line) for line in lines if line.startswith("{")]
        assert entries, f"no MozLog line in {log}"
        assert {entry["Logger"] for entry in entries} == {name}
