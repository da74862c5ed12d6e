"""Rate limits (decisions D21): 429 with ``Retry-After`` and errnos 114-117."""

from __future__ import annotations

import dataclasses

from loop.msisdn.config import RateLimitSettings
from tests.msisdn.conftest import MSISDN, Factory
from tests.support.client import assert_error

LIMITS = RateLimitSettings(
    period=60,
    short_code_per_session=2,
    sms_per_msisdn=3,
    verify_code_per_session=2,
    requests_per_ip=3,
)


async def test_requests_per_address(make_env: Factory) -> None:
    env = await make_env(rate_limits=LIMITS)
    for _ in range(3):
        assert (await env.client.post("/register")).status_code == 200
    response = await env.client.post("/discover", json={"mcc": "208"})
    body = assert_error(response, 429, 117, "Too Many Requests")
    assert response.headers["Retry-After"] == "30"  # the configured retry_after (§1.1)
    assert 1 <= body["retryAfter"] <= 60  # the window's remainder
    env.clock.advance(60)
    assert (await env.client.post("/register")).status_code == 200


async def test_short_codes_per_session(make_env: Factory) -> None:
    env = await make_env(rate_limits=LIMITS)
    session = await env.register()
    for _ in range(2):
        await env.send_code(session, shortVerificationCode=True)
    body = {"msisdn": MSISDN, "mcc": "208", "shortVerificationCode": True}
    response = await env.client.post("/sms/mt/verify", json=body, hawk=session)
    assert_error(response, 429, 114, "Too Many Requests")


async def test_sms_per_number(make_env: Factory) -> None:
    env = await make_env(rate_limits=dataclasses.replace(LIMITS, requests_per_ip=100))
    for _ in range(3):
        await env.send_code(await env.register())
    session = await env.register()
    response = await env.client.post(
        "/sms/mt/verify", json={"msisdn": MSISDN, "mcc": "208"}, hawk=session
    )
    assert_error(response, 429, 115, "Too Many Requests")
    assert len(env.sms.messages) == 3


async def test_verify_code_attempts_per_session(make_env: Factory) -> None:
    env = await make_env(rate_limits=LIMITS)
    session = await env.register()
    await env.send_code(session)
    for _ in range(2):
        response = await env.client.post("/sms/verify_code", json={"code": "0" * 32}, hawk=session)
        assert_error(response, 400, 105, "Code error.")
    response = await env.client.post("/sms/verify_code", json={"code": "0" * 32}, hawk=session)
    assert_error(response, 429, 116, "Too Many Requests")


async def test_behind_a_trusted_proxy_each_client_has_its_own_allowance(
    make_env: Factory,
) -> None:
    """Every request comes from the proxy (10.0.0.1, the test transport's peer); the
    allowance per address is the forwarded client's."""
    env = await make_env(rate_limits=LIMITS, trusted_proxies=["10.0.0.0/8"])
    alice, bob = {"X-Forwarded-For": "203.0.113.1"}, {"X-Forwarded-For": "203.0.113.2"}
    for _ in range(3):
        assert (await env.client.post("/register", headers=alice)).status_code == 200
    assert_error(await env.client.post("/register", headers=alice), 429, 117, "Too Many Requests")
    assert (await env.client.post("/register", headers=bob)).status_code == 200
