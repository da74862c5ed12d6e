"""Hostile input never gets a 500: oversized, malformed, wrong types, junk keys."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.msisdn.conftest import Env
from tests.support.client import assert_error

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)
FIELDS = ["msisdn", "mcc", "mnc", "shortVerificationCode", "code", "publicKey", "duration"]
BODIES = st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=5)
PATHS = ["/discover", "/sms/mt/verify", "/sms/verify_code", "/certificate/sign"]


async def test_oversized_body(env: Env) -> None:
    response = await env.client.post("/discover", content=b"{" + b" " * 30_000 + b"}")
    assert_error(response, 413, 113)


async def test_malformed_json(env: Env) -> None:
    response = await env.client.post(
        "/discover", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400, 106)
    response = await env.client.post(
        "/discover", content=b"[1]", headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400, 106)


async def test_urlencoded_is_accepted(env: Env) -> None:
    response = await env.client.post(
        "/discover",
        content=b"mcc=208",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.json()["verificationMethods"] == ["sms/mt"]


@pytest.mark.parametrize("path", PATHS)
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=BODIES)
async def test_random_bodies_never_500(env: Env, path: str, body: dict[str, Any]) -> None:
    session = await env.register() if path != "/discover" else None
    response = await env.client.post(path, json=body, hawk=session)
    assert response.status_code < 500 or response.json()["errno"] == 201, response.text
    json.loads(response.text or "{}")


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    ("value", "errno"),
    [
        ('"\\ud800"', 107),
        ("18446744073709551616", 107),
        ("1e400", 107),
        ("NaN", 106),
        ("[" * 2000 + "]" * 2000, 106),
    ],
    ids=["lone-surrogate", "beyond-64-bits", "beyond-double", "nan", "deep"],
)
async def test_the_strict_reader_guards_the_gateway(
    env: Env, path: str, value: str, errno: int
) -> None:
    """The gateway reads bodies with the server's one strict reader (issue 12)."""
    session = await env.register() if path != "/discover" else None
    body = ('{"msisdn": ' + value + "}").encode()
    headers = {"Content-Type": "application/json"}
    response = await env.client.post(path, content=body, headers=headers, hawk=session)
    if errno == 106:
        assert_error(response, 400, 106, "Invalid JSON in request body.")
    else:
        assert_error(response, 400, 107)
        assert response.json()["error"].startswith("msisdn should not hold ")
