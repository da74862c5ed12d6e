"""ICE servers handed out with a join, proved against a real coturn: the TURN credentials
allocate a relay (what a relay-only ICE policy needs), and wrong, expired or foreign ones
are refused. The heartbeat's STUN check against the same server."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from loop.config import WebRTCSettings
from loop.media import stun
from loop.media.webrtc import WebRTCProvider, turn_credentials
from tests.signalling.conftest import ServerFactory
from tests.support.turn_server import (
    ALLOCATE_SUCCESS,
    CREATE_PERMISSION_SUCCESS,
    TurnServer,
    allocate,
    turn_client,
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

        await relay_through(turn, turn_entry["username"], turn_entry["credential"])

        wrong = await allocate("127.0.0.1", turn.port, turn_entry["username"], "d3JvbmcgcGFzcw==")
        assert wrong.error_code == 401

        another = await server.join(room, name="Bob")
        fresh = another.answer["iceServers"][1]
        assert fresh["username"] != turn_entry["username"]


async def relay_through(turn: TurnServer, username: str, password: str) -> None:
    """Allocate a relay with the credentials, then carry a datagram to a local peer and its
    answer back through it: what a relay-only ICE policy needs from the TURN server."""
    loop = asyncio.get_running_loop()
    async with turn_client("127.0.0.1", turn.port, username, password) as client:
        granted = await client.allocate()
        assert granted.type == ALLOCATE_SUCCESS, granted.error_code
        assert client.relayed is not None and client.relayed[0] == "127.0.0.1"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
            peer.bind(("127.0.0.1", 0))
            peer.setblocking(False)
            peer_port = peer.getsockname()[1]
            permitted = await client.permit("127.0.0.1", peer_port)
            assert permitted.type == CREATE_PERMISSION_SUCCESS, permitted.error_code
            client.send("127.0.0.1", peer_port, b"offer through the relay")
            data, source = await asyncio.wait_for(loop.sock_recvfrom(peer, 2048), 5)
            assert (data, source) == (b"offer through the relay", client.relayed)
            await loop.sock_sendto(peer, b"answer", source)
            assert await client.receive() == (("127.0.0.1", peer_port), b"answer")


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


async def test_heartbeat_reports_a_silent_stun_server(live_server: ServerFactory) -> None:
    """A UDP port that swallows requests: the check ends with the heartbeat's timeout."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as black_hole:
        black_hole.bind(("127.0.0.1", 0))
        url = f"stun:127.0.0.1:{black_hole.getsockname()[1]}"
        silent = WebRTCSettings(stun_urls=[url], membership_check_interval=0.1)
        settings = {"push_server_uris": [], "heartbeat_timeout": 300}
        async with live_server(webrtc=silent, **settings) as server:
            started = time.monotonic()
            response = await server.client.get("/__heartbeat__")
            assert time.monotonic() - started < 3
            assert response.status_code == 503
            assert response.json() == {
                "storage": True,
                "provider": False,
                "push": True,
                "fxaVerifier": True,
                "message": "WebRTC Error: no answer within the heartbeat timeout",
            }


async def test_heartbeat_reports_a_stun_error_answer() -> None:
    """An answer that is not a Binding success fails the check with its reason."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as fake:
        fake.bind(("127.0.0.1", 0))
        fake.setblocking(False)
        loop = asyncio.get_running_loop()
        port = fake.getsockname()[1]

        async def answer_with_an_error() -> None:
            request, source = await loop.sock_recvfrom(fake, 2048)
            code = bytes([0, 0, 4, 20]) + b"Unknown"  # 420
            error = stun.encode(0x0111, request[8:20], [(stun.ERROR_CODE, code)])
            await loop.sock_sendto(fake, error, source)

        server_task = asyncio.create_task(answer_with_an_error())
        provider = WebRTCProvider(
            WebRTCSettings(token_secret=SECRET, stun_urls=[f"stun:127.0.0.1:{port}"]),  # type: ignore[arg-type]
            signalling_url="ws://x/signalling",
        )
        reason = await asyncio.wait_for(provider.ping(), 5)
        await server_task
        assert (
            reason
            == f"Error: STUN server stun:127.0.0.1:{port} failed: binding refused (error 420)"
        )
