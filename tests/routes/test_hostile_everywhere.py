"""Hostile input on every endpoint: never a 500, always the spec's error body.

A seeded generator (reproducible: the seed is in the test id) throws odd JSON (wrong
types, huge numbers and strings, NUL and CR LF, nesting), non-JSON bytes and forged
``Authorization`` headers at every route, authenticated or not, on both backends. Each
answer must be below 500 (503 only for a backend failure, which does not happen here),
and every error must carry ``{"code", "errno", "error"}`` with ``code`` = the status.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from tests.routes.conftest import Harness

ODD: list[Any] = [
    None, True, False, 0, -1, 2**70, 1.5, 1e308, "", "x" * 5000, "é\u0000\ud7ff", "\r\n",
    [], [1, [2]], {}, {"a": {"b": []}}, "2", "-3", "abc",
]  # fmt: skip
KEYS = (
    "action operation displayName clientMaxSize roomName roomOwner maxSize expiresIn context "
    "channel deleteRoomTokens simplePushURL simplePushURLs simple_push_url calleeId callType "
    "subject callerId issuer event state connections sendStreams recvStreams domains code "
    "value alg wrappedKey"
).split()
WORDS = ["join", "refresh", "leave", "status", "logDomain", "audio", "https://p.example/s"]
AUTHORIZATIONS = [
    "Basic !!!", "Basic", "Basic QQ==", "Hawk", 'Hawk id="x"', 'Hawk id="x", ts="1", '
    'nonce="n", mac="m"', "BrowserID a.b.c.d", "BrowserID x~y", "Token x",
]  # fmt: skip
RAW_AUTHORIZATIONS = [b"Hawk \xe9\xff", b"Basic \xc3\xa9"]
"""Non-ASCII bytes, as a hostile client can send them (httpx only sends ``str`` as ASCII)."""
REQUESTS_PER_SEED = 300


def odd_value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if roll < 0.5 or depth > 2:
        return rng.choice(ODD)
    if roll < 0.75:
        return {rng.choice(KEYS): odd_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    if roll < 0.85:
        return [odd_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return rng.choice(WORDS)


@pytest.mark.parametrize("seed", [1, 2])
async def test_no_input_makes_a_500(harness: Harness, seed: int) -> None:
    rng = random.Random(seed)
    client = harness.client
    session = await client.register()
    created = await client.post(
        "/rooms", json={"roomOwner": "a", "maxSize": 3, "roomName": "r"}, hawk=session
    )
    room = created.json()["roomToken"]
    call_url = await client.post("/call-url", json={"callerId": "me"}, hawk=session)
    call_token = call_url.json()["callToken"]
    paths = [
        "/registration", "/rooms", f"/rooms/{room}", "/rooms/nope", "/room-url",
        f"/room-url/{room}", "/call-url", f"/call-url/{call_token}", "/calls",
        f"/calls/{call_token}", "/calls?version=abc", "/rooms?version=-5", "/event",
        "/account", "/session", "/fxa-oauth/params", "/fxa-oauth/token",
    ]  # fmt: skip
    for _ in range(REQUESTS_PER_SEED):
        method = rng.choice(["GET", "POST", "PUT", "PATCH", "DELETE"])
        path = rng.choice(paths)
        if rng.random() < 0.9:
            content = json.dumps(odd_value(rng)).encode()
        else:
            content = rng.randbytes(20)
        headers: dict[str, Any] = {"Content-Type": "application/json"}
        hawk = session if rng.random() < 0.7 else None
        if rng.random() < 0.1:
            headers["Authorization"] = rng.choice([*AUTHORIZATIONS, *RAW_AUTHORIZATIONS])
            hawk = None
        response = await client.request(method, path, content=content, headers=headers, hawk=hawk)
        where = (method, path, content[:120], response.text[:200])
        assert response.status_code < 500, where
        if response.status_code >= 400:
            body = response.json()
            assert body["code"] == response.status_code, where
            assert isinstance(body["errno"], int), where
            assert isinstance(body["error"], str) and body["error"], where
