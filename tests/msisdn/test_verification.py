"""Hawk-authenticated endpoints: sms/mt/verify, verify_code, certificate/sign, unregister,
and the Hawk failures (msisdn-and-auth.md §1.4-§1.5, decisions D22-D23)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from loop import browserid
from tests.msisdn.conftest import MSISDN, Env, Factory
from tests.support.client import HawkSession, assert_error

OTHER = "+33698765432"


async def mt(env: Env, session: HawkSession, **body: Any) -> Any:
    return await env.client.post("/sms/mt/verify", json=body, hawk=session)


async def code(env: Env, session: HawkSession, value: Any) -> Any:
    return await env.client.post("/sms/verify_code", json={"code": value}, hawk=session)


async def sign(env: Env, session: HawkSession, **body: Any) -> Any:
    return await env.client.post("/certificate/sign", json=body, hawk=session)


USER_KEY = browserid.generate("RS256")


@pytest.mark.parametrize(
    ("body", "status", "errno", "error"),
    [
        ({}, 400, 108, "Missing msisdn,mcc"),
        ({"msisdn": MSISDN}, 400, 108, "Missing mcc"),
        ({"msisdn": "0623456789", "mcc": "208"}, 400, 107, "Invalid MSISDN number."),
        ({"msisdn": 33623456789, "mcc": "208"}, 400, 107, "Invalid MSISDN number."),
        ({"msisdn": "+33123456789", "mcc": "208"}, 400, 107, "Invalid MSISDN number."),
        ({"msisdn": MSISDN, "mcc": "208", "mnc": "1"}, 400, 107, "Invalid MNC."),
        ({"msisdn": MSISDN, "mcc": "208", "mnc": 1}, 400, 107, "Invalid MNC."),
        ({"msisdn": MSISDN, "mcc": "2080"}, 400, 107, "Invalid MCC."),
    ],
)
async def test_mt_verify_errors(
    env: Env, body: dict[str, Any], status: int, errno: int, error: str
) -> None:
    session = await env.register()
    assert_error(await mt(env, session, **body), status, errno, error)
    assert env.sms.messages == []


async def test_short_code_is_localised(env: Env) -> None:
    session = await env.register()
    response = await env.client.post(
        "/sms/mt/verify",
        json={"msisdn": MSISDN, "mcc": "208", "mnc": None, "shortVerificationCode": True},
        headers={"Accept-Language": "fr-FR, en;q=0.5"},
        hawk=session,
    )
    assert response.status_code == 204
    text = env.sms.last_to(MSISDN).text
    assert text.startswith("Votre code de vérification est : ")
    assert len(text.split()[-1]) == 6 and text.split()[-1].isdigit()
    await env.send_code(session, shortVerificationCode=True)
    assert env.sms.last_to(MSISDN).text.startswith("Your verification code is: ")


async def test_one_number_per_session(env: Env) -> None:
    session = await env.register()
    await env.send_code(session)
    await env.send_code(session)
    response = await mt(env, session, msisdn=OTHER, mcc="208")
    assert_error(response, 400, 107, "You can validate only one MSISDN per session.")


async def test_sms_provider_failure_is_503(env: Env) -> None:
    session = await env.register()
    env.sms.refuse("4", "Bad Credentials")
    response = await mt(env, session, msisdn=MSISDN, mcc="208")
    body = assert_error(response, 503, 201, "4 — Bad Credentials")
    assert response.headers["Retry-After"] == "30"
    assert body["code"] == 503


async def test_wrong_codes_then_expired(env: Env) -> None:
    """Three wrong tries are 400/105; the code is then gone (410/111), even the right one."""
    session = await env.register()
    await env.send_code(session)
    right = env.sms.last_to(MSISDN).text
    for _ in range(3):
        assert_error(await code(env, session, "0" * 32), 400, 105, "Code error.")
    assert_error(await code(env, session, right), 410, 111, "Code has expired.")


async def test_new_code_resets_wrong_tries(env: Env) -> None:
    session = await env.register()
    await env.send_code(session)
    for _ in range(2):
        assert_error(await code(env, session, "0" * 32), 400, 105, "Code error.")
    await env.send_code(session)
    for _ in range(2):
        assert_error(await code(env, session, "0" * 32), 400, 105, "Code error.")
    response = await code(env, session, env.sms.last_to(MSISDN).text)
    assert response.json() == {"msisdn": MSISDN}


async def test_code_expires_with_time(env: Env) -> None:
    session = await env.register()
    await env.send_code(session)
    env.clock.advance(86400)
    assert_error(await code(env, session, env.sms.last_to(MSISDN).text), 401, 110)


@pytest.mark.parametrize(
    ("value", "status", "errno", "error"),
    [
        (None, 400, 108, "Missing code"),
        ("", 400, 108, "Missing code"),
        ("12345", 400, 107, "Code should be short (6 characters) or long (32 characters)."),
        (123456, 400, 107, "Code should be short (6 characters) or long (32 characters)."),
        ("123456", 410, 111, "Code has expired."),
    ],
)
async def test_verify_code_errors(
    env: Env, value: Any, status: int, errno: int, error: str
) -> None:
    session = await env.register()
    assert_error(await code(env, session, value), status, errno, error)


async def test_certificate_for_a_verified_session(env: Env) -> None:
    session = await env.verified()
    env.clock.advance(3 * 86400)
    for key in (USER_KEY.public.to_json(), json.dumps(USER_KEY.public.to_json())):
        response = await sign(env, session, publicKey=key, duration="60")
        assert response.status_code == 200, response.text
        payload = browserid.decode(response.json()["cert"]).payload
        assert payload["verifiedMSISDN"] == MSISDN
        assert payload["public-key"] == USER_KEY.public.to_json()
        assert payload["exp"] - payload["iat"] == 70_000
        assert payload["lastAuthAt"] - payload["lastVerifiedAt"] == 3 * 86400 * 1000


async def test_certificate_duration_cap(make_env: Factory) -> None:
    from loop.msisdn.config import BrowserIDSettings

    env = await make_env()
    capped = BrowserIDSettings(
        public_key=env.gateway.settings.browserid.public_key,
        secret_key=env.gateway.settings.browserid.secret_key,
        max_duration=10,
        issuer="msisdn.example.org",
    )
    env.gateway.settings = __import__("dataclasses").replace(
        env.gateway.settings, browserid=capped
    )
    session = await env.verified()
    response = await sign(env, session, publicKey=USER_KEY.public.to_json(), duration=3600)
    payload = browserid.decode(response.json()["cert"]).payload
    assert payload["exp"] - payload["iat"] == 20_000
    assert payload["iss"] == "msisdn.example.org"


async def test_certificate_lifetime_is_capped_at_a_day_by_default(env: Env) -> None:
    """A client asking for 10⁹ s (31 years) gets the default cap, ``max_duration``."""
    session = await env.verified()
    response = await sign(env, session, publicKey=USER_KEY.public.to_json(), duration=10**9)
    assert response.status_code == 200, response.text
    payload = browserid.decode(response.json()["cert"]).payload
    assert payload["exp"] - payload["iat"] == (86_400 + 10) * 1000


@pytest.mark.parametrize(
    ("body", "status", "errno", "error"),
    [
        ({"duration": 60}, 400, 108, "Missing publicKey"),
        ({"publicKey": "x", "duration": 0}, 400, 108, "Missing duration"),
        ({"publicKey": "{not json", "duration": 60}, 406, 106, None),
        ({"publicKey": {"algorithm": "RS"}, "duration": 60}, 400, 107, "Bad Public Key."),
        (
            {"publicKey": {"algorithm": "EC", "x": "1"}, "duration": 60},
            400,
            107,
            "Bad Public Key.",
        ),
        ({"publicKey": "[1]", "duration": 60}, 400, 107, "Bad Public Key."),
        (
            {"publicKey": USER_KEY.public.to_json(), "duration": "abc"},
            400,
            107,
            "Duration should be a number of seconds.",
        ),
        (
            {"publicKey": USER_KEY.public.to_json(), "duration": -5},
            400,
            107,
            "Duration should be a number of seconds.",
        ),
        (
            {"publicKey": USER_KEY.public.to_json(), "duration": 60},
            410,
            111,
            "Validation has expired.",
        ),
    ],
)
async def test_sign_errors(
    env: Env, body: dict[str, Any], status: int, errno: int, error: str | None
) -> None:
    session = await env.register()
    assert_error(await sign(env, session, **body), status, errno, error)


async def test_unregister_wipes_everything(env: Env) -> None:
    session = await env.verified()
    response = await env.client.post("/unregister", hawk=session)
    assert response.status_code == 204 and response.content == b""
    response = await sign(env, session, publicKey=USER_KEY.public.to_json(), duration=60)
    assert_error(response, 401, 110, "Unknown credentials")


async def test_hawk_failures(env: Env) -> None:
    response = await env.client.post("/unregister")
    assert_error(response, 401, 110)
    assert response.headers["WWW-Authenticate"] == "Hawk"
    response = await env.client.post(
        "/unregister", headers={"Authorization": "Hawk wrong-parameters"}
    )
    assert_error(response, 400, 110, "Bad header format")
    stranger = HawkSession.from_token("ab" * 32)
    assert_error(
        await env.client.post("/unregister", hawk=stranger), 401, 110, "Unknown credentials"
    )
    session = await env.register()
    env.clock.advance(3600)
    header = env.client.hawk_header(session, "http://msisdn.test/unregister", "POST")
    env.clock.advance(-3600)
    response = await env.client.post("/unregister", headers={"Authorization": header})
    assert_error(response, 401, 110, "Stale timestamp")
    forged = HawkSession(session.token, session.id, "00" * 32)
    assert_error(await env.client.post("/unregister", hawk=forged), 401, 110, "Bad mac")


async def test_session_expires(env: Env) -> None:
    session = await env.register()
    env.clock.advance(86400)
    assert_error(
        await env.client.post("/unregister", hawk=session), 401, 110, "Unknown credentials"
    )
