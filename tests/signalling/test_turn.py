"""ICE servers handed out with a join, proved against a real coturn: the TURN credentials
allocate a relay (what a relay-only ICE policy needs), and wrong, expired or foreign ones
are refused. The heartbeat's STUN check against the same server."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from loop.config import WebRTCSettings
from loop.media.webrtc import turn_credentials
from tests.signalling.conftest import ServerFactory
from tests.support.redis_server import free_port
from tests.support.turn_server import (
    ALLOCATE_SUCCESS,
    XOR_RELAYED_ADDRESS,
    TurnServer,
    allocate,
    turn_server,
)

SECRET = "coturn-shared-secret"


@pytest.fixture(scope="module")
def turn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TurnServer]:
    with turn_server(tmp_path_factory.mktemp("turn"), secret=SECRET) as server:
        yield server


def settings_for(turn: TurnServer, **changes: object) -> WebRTCSettings:
    return WebRTCSettings(
        stun_urls=[turn.stun_url],
        turn_urls=[turn.url, turn.tcp_url],
        turn_secret=SECRET,  # type: ignore[arg-type]
        turn_ttl=600,
        membership_check_interval=0.1,
        **changes,  # type: ignore[arg-type]
    )


async def test_join_hands_out_working_turn_credentials(
    live_server: ServerFactory, turn: TurnServer
) -> None:
    async with live_server(webrtc=settings_for(turn)) as server:
        owner, room = await server.room()
        before = int(time.time())
        answer = (await server.join(room, owner)).answer
        stun_server, turn_entry = answer["iceServers"]
        assert stun_server == {"urls": [turn.stun_url]}
        assert set(turn_entry) == {"urls", "username", "credential"}
        assert turn_entry["urls"] == [turn.url, turn.tcp_url]
        expiry, _, user = turn_entry["username"].partition(":")
        assert before + 600 <= int(expiry) <= int(time.time()) + 600
        assert len(user) == 16
        expected = hmac.new(SECRET.encode(), turn_entry["username"].encode(), hashlib.sha1)
        assert turn_entry["credential"] == base64.b64encode(expected.digest()).decode()

        granted = await allocate(
            "127.0.0.1", turn.port, turn_entry["username"], turn_entry["credential"]
        )
        assert granted.type == ALLOCATE_SUCCESS, granted.error_code
        assert XOR_RELAYED_ADDRESS in granted.attributes

        wrong = await allocate("127.0.0.1", turn.port, turn_entry["username"], "d3JvbmcgcGFzcw==")
        assert wrong.error_code == 401

        another = await server.join(room, name="Bob")
        fresh = another.answer["iceServers"][1]
        assert fresh["username"] != turn_entry["username"]


async def test_expired_or_foreign_credentials_are_refused(turn: TurnServer) -> None:
    stale_user, stale_password = turn_credentials(
        SECRET, expires_at=int(time.time()) - 5, user="x"
    )
    stale = await allocate("127.0.0.1", turn.port, stale_user, stale_password)
    assert stale.error_code == 401
    user, password = turn_credentials("not-the-secret", expires_at=int(time.time()) + 60, user="y")
    foreign = await allocate("127.0.0.1", turn.port, user, password)
    assert foreign.error_code == 401
    user, password = turn_credentials(SECRET, expires_at=int(time.time()) + 60, user="z")
    assert (await allocate("127.0.0.1", turn.port, user, password)).type == ALLOCATE_SUCCESS


async def test_heartbeat_asks_the_stun_server(
    live_server: ServerFactory, turn: TurnServer, tmp_path: Path
) -> None:
    async with live_server(webrtc=settings_for(turn), push_server_uris=[]) as server:
        response = await server.client.get("/__heartbeat__")
        assert response.status_code == 200, response.text
        assert response.json() == {
            "storage": True,
            "provider": True,
            "push": True,
            "fxaVerifier": True,
        }
    silent = WebRTCSettings(
        stun_urls=[f"stun:127.0.0.1:{free_port()}"], membership_check_interval=0.1
    )
    async with live_server(webrtc=silent, push_server_uris=[], heartbeat_timeout=5000) as server:
        response = await server.client.get("/__heartbeat__")
        assert response.status_code == 503
        body = response.json()
        assert (body["storage"], body["provider"], body["push"]) == (True, False, True)
        assert body["message"].startswith(
            f"WebRTC Error: STUN server {silent.stun_urls[0]} failed"
        )
