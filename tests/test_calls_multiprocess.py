"""Calls across server processes: two real ``loop-server`` processes on one Redis, the
caller on one and the callee on the other. Every state change must cross processes
through Redis pub/sub, and the timers must work whichever process runs them."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from loop.clock import SystemClock
from loop.crypto import hmac_hex
from loop.identity import seal
from loop.storage.redis import from_url
from tests.calls.conftest import Peer
from tests.support.client import HawkSession, LoopClient
from tests.support.push_server import PushServer
from tests.test_end_to_end import loop_server

USER_MAC_SECRET = "22" * 16
HAWK_ID_SECRET = "33" * 16
SECRETS = {"LOOP_USER_MAC_SECRET": USER_MAC_SECRET, "LOOP_HAWK_ID_SECRET": HAWK_ID_SECRET}


@contextlib.contextmanager
def two_servers(redis_url: str, tmp_path: Path, **env: str) -> Iterator[tuple[str, str]]:
    redis.Redis.from_url(redis_url).flushdb()
    settings = {**SECRETS, **env}
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    with (
        loop_server(redis_url, tmp_path / "a", **settings) as first,
        loop_server(redis_url, tmp_path / "b", **settings) as second,
    ):
        yield first, second


@contextlib.asynccontextmanager
async def client(base: str) -> AsyncIterator[LoopClient]:
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        yield LoopClient(http, SystemClock())


async def sign_in(
    loop: LoopClient, redis_url: str, identity: str, push: str | None = None
) -> HawkSession:
    """Register on ``loop``'s server, bind the identity in the shared Redis, then register
    the push target as the signed-in user."""
    body = {"simplePushURLs": {"calls": push}} if push else None
    session = await loop.register(body)
    storage = await from_url(redis_url)
    try:
        await storage.bind_identity(
            hmac_hex(HAWK_ID_SECRET, session.id),
            user_mac=hmac_hex(USER_MAC_SECRET, identity.lower()),
            encrypted_identity=seal(session.id, identity),
            now=SystemClock().now(),
            ttl=3600,
        )
    finally:
        await storage.close()
    if body:
        assert (await loop.post("/registration", json=body, hawk=session)).status_code == 200
    return session


async def start_call(
    first: str, second: str, redis_url: str, push: PushServer
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Alice (on the first server) calls Bob (on the second)."""
    async with client(first) as a, client(second) as b:
        alice = await sign_in(a, redis_url, "alice@example.com")
        bob = await sign_in(b, redis_url, "bob@example.com", push.url("/bob"))
        body = {"calleeId": "bob@example.com", "callType": "audio"}
        answer = await a.post("/calls", json=body, hawk=alice)
        assert answer.status_code == 200, answer.text
        await push.wait_for(1)
        [incoming] = (await b.get("/calls?version=0", hawk=bob)).json()["calls"]
        return answer.json(), incoming


def ws_url(base: str) -> str:
    return base.replace("http://", "ws://").removesuffix("/v0") + "/websocket"


@pytest.fixture
def push() -> Iterator[PushServer]:
    with PushServer() as server:
        yield server


async def test_a_call_connects_across_processes(
    redis_url: str, tmp_path: Path, push: PushServer
) -> None:
    with two_servers(redis_url, tmp_path) as (first, second):
        caller, callee = await start_call(first, second, redis_url, push)
        call_id = caller["callId"]
        async with Peer.open(ws_url(first)) as alice, Peer.open(ws_url(second)) as bob:
            assert (await alice.hello(call_id, caller["websocketToken"]))["state"] == "init"
            assert (await bob.hello(call_id, callee["websocketToken"]))["state"] == "init"
            for peer in (alice, bob):
                await peer.expect("alerting")
            await bob.action("accept")
            for peer in (alice, bob):
                await peer.expect("connecting")
            await alice.action("media-up")
            for peer in (alice, bob):
                await peer.expect("half-connected")
            await bob.action("media-up")
            for peer in (alice, bob):
                await peer.expect("connected")
                await peer.expect_closed()
        async with Peer.open(ws_url(second)) as late:
            hello = await late.hello(call_id, callee["websocketToken"])
            assert hello == {"messageType": "hello", "state": "terminated", "reason": "closed"}


async def test_a_ringing_timeout_reaches_the_other_process(
    redis_url: str, tmp_path: Path, push: PushServer
) -> None:
    timers = {"LOOP_TIMERS__RINGING_DURATION": "0.5"}
    with two_servers(redis_url, tmp_path, **timers) as (first, second):
        caller, callee = await start_call(first, second, redis_url, push)
        async with Peer.open(ws_url(first)) as alice, Peer.open(ws_url(second)) as bob:
            await alice.hello(caller["callId"], caller["websocketToken"])
            await bob.hello(caller["callId"], callee["websocketToken"])
            for peer in (bob, alice):
                await peer.expect("alerting")
                await peer.expect("terminated", "timeout")
                await peer.expect_closed()
