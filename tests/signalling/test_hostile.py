"""Hostile input on the signalling socket: forged, expired and misdirected tokens, no hello,
malformed, oversized and flooding messages. Each gets its documented answer; none crashes
the server or disturbs the other members."""

from __future__ import annotations

import json
import random

import pytest

from loop.config import WebRTCSettings
from loop.media import MediaSession
from loop.media.webrtc import API_KEY, WebRTCProvider
from tests.signalling.conftest import LiveServer, ServerFactory
from tests.support.signalling import SignalSocket

LIMITS = WebRTCSettings(
    membership_check_interval=0.1,
    hello_timeout=0.5,
    max_message_size=2048,
    rate_limit=20,
    rate_period=60,
)


def provider(server: LiveServer) -> WebRTCProvider:
    media = server.services.media
    assert isinstance(media, WebRTCProvider)
    return media


async def refused(server: LiveServer, token: str, reason: str) -> None:
    async with SignalSocket.open(server.url()) as socket:
        await socket.send({"type": "hello", "token": token})
        await socket.expect_refused(reason, 4401)


async def test_forged_and_garbled_tokens(live_server: ServerFactory) -> None:
    async with live_server() as server:
        owner, room = await server.room()
        token = (await server.join(room, owner)).token
        version, payload, signature = token.split(".")
        flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
        other = WebRTCProvider(
            WebRTCSettings(token_secret="an-other-servers-secret"),  # type: ignore[arg-type]
            signalling_url="ws://elsewhere/signalling",
        )
        state = await server.services.storage.get_room(room, now=server.services.clock.now())
        assert state is not None
        session = MediaSession(state.room.session_id, API_KEY)
        foreign = other.mint_token(
            session,
            role="moderator",
            expires_at=int(server.services.clock.now()) + 60,
            room=room,
            participant=state.participants[0].id,
        )
        for bad in (
            f"{version}.{payload}.{flipped}",
            f"{version}.{payload}",
            f"v2.{payload}.{signature}",
            f"{version}.{payload[:-4]}.{signature}",
            f"{version}.!!!.{signature}",
            "T1==" + payload,
            "x" * 300,
            foreign,
        ):
            await refused(server, bad, "invalid-token")


async def test_expired_and_misdirected_tokens(live_server: ServerFactory) -> None:
    async with live_server() as server:
        owner, room = await server.room()
        _, other_room = await server.room()
        alice = await server.join(room, owner, name="Alice")
        bob = await server.join(room, name="Bob")
        now = server.services.clock.now()
        state = await server.services.storage.get_room(room, now=now)
        other = await server.services.storage.get_room(other_room, now=now)
        assert state is not None and other is not None
        pid = next(p.id for p in state.participants if p.display_name == "Alice")
        mint = provider(server).mint_token
        session = MediaSession(state.room.session_id, API_KEY)
        expired = mint(
            session, role="publisher", expires_at=int(now) - 1, room=room, participant=pid
        )
        await refused(server, expired, "expired-token")
        # A participant of this room, presented for a room it never joined.
        elsewhere = MediaSession(other.room.session_id, API_KEY)
        misdirected = mint(
            elsewhere, role="moderator", expires_at=int(now) + 60, room=other_room, participant=pid
        )
        await refused(server, misdirected, "not-a-participant")
        # This room's participant, with another room's channel.
        crossed = mint(
            elsewhere, role="moderator", expires_at=int(now) + 60, room=room, participant=pid
        )
        await refused(server, crossed, "not-a-participant")
        # A participant who left.
        assert (await server.act(room, bob, "leave")).status_code == 204
        await refused(server, bob.token, "not-a-participant")
        # A deleted room.
        assert (await server.client.delete(f"/rooms/{room}", hawk=owner)).status_code == 204
        await refused(server, alice.token, "not-a-participant")


async def test_no_hello_in_time(live_server: ServerFactory) -> None:
    async with live_server(webrtc=LIMITS) as server:
        async with SignalSocket.open(server.url()) as socket:
            await socket.expect_refused("timeout", 4408)
        async with SignalSocket.open(server.url()) as socket:
            await socket.send({"type": "ping"})
            await socket.expect({"type": "pong"})  # pings do not stop the clock
            await socket.expect_refused("timeout", 4408)


@pytest.mark.parametrize(
    "message",
    [
        "not json",
        "[1, 2]",
        '"hello"',
        "{}",
        '{"type": 1}',
        '{"type": "nope"}',
        '{"type": "hello"}',
        '{"type": "hello", "token": 5}',
        '{"type": "hello", "token": ""}',
        '{"type": "signal", "to": 5, "data": {}}',
        '{"type": "signal", "to": "x", "data": "text"}',
        '{"type": "signal", "to": "x"}',
        '{"type": "remove"}',
        '{"type": "remove", "id": ["x"]}',
        # What the strict reader refuses (issue 12): never relayed, never a crash.
        '{"type": "ping", "at": NaN}',
        '{"type": "ping", "at": 1e400}',
        '{"type": "ping", "\\ud800": 1}',
        '{"type": "signal", "to": "x", "data": {"sdp": "\\udfff"}}',
        '{"type": "signal", "to": "x", "data": {"n": 18446744073709551616}}',
        '{"type": "ping", "at": ' + "[" * 2000 + "]" * 2000 + "}",
        b"\xff\xfe binary",
    ],
)
async def test_malformed_messages_are_refused_and_the_socket_stays(
    live_server: ServerFactory, message: str | bytes
) -> None:
    async with live_server() as server:
        owner, room = await server.room()
        alice = await server.join(room, owner)
        async with SignalSocket.open(server.url()) as socket:
            await socket.send(message)
            await socket.expect_error("bad-message")
            await socket.hello(alice.token)
            await socket.send(message)
            await socket.expect_error("bad-message")


async def test_only_ping_and_hello_before_hello(live_server: ServerFactory) -> None:
    async with live_server() as server:
        owner, room = await server.room()
        alice = await server.join(room, owner)
        async with SignalSocket.open(server.url()) as socket:
            await socket.send({"type": "signal", "to": "x", "data": {}})
            await socket.expect_error("bad-message")
            await socket.send({"type": "remove", "id": "x"})
            await socket.expect_error("bad-message")
            await socket.hello(alice.token)
            await socket.send({"type": "hello", "token": alice.token})
            await socket.expect_error("bad-message")


async def test_an_oversized_message_closes_the_socket(live_server: ServerFactory) -> None:
    async with live_server(webrtc=LIMITS) as server:
        owner, room = await server.room()
        alice = await server.join(room, owner)
        bob = await server.join(room, name="Bob")
        async with SignalSocket.open(server.url()) as a, SignalSocket.open(server.url()) as b:
            await a.hello(alice.token)
            await b.hello(bob.token)
            await a.receive()  # joined
            padding = "x" * LIMITS.max_message_size
            await b.send({"type": "signal", "to": a.id, "data": {"sdp": padding}})
            await b.expect_refused("too-large", 4413)
            await a.expect({"type": "left", "id": b.id, "reason": "disconnected"})


async def test_a_flood_closes_the_socket(live_server: ServerFactory) -> None:
    async with live_server(webrtc=LIMITS) as server:
        async with SignalSocket.open(server.url()) as socket:
            for _ in range(LIMITS.rate_limit + 5):
                await socket.send({"type": "ping"})
            for _ in range(LIMITS.rate_limit):
                await socket.expect({"type": "pong"})
            await socket.expect_refused("rate-limited", 4429)


async def test_seeded_garbage_never_breaks_the_channel(live_server: ServerFactory) -> None:
    """Random JSON of every shape from one member: each gets an answer from the protocol's
    list, and the other member's relay still works afterwards."""
    rng = random.Random(1966)
    words = ["hello", "signal", "remove", "ping", "welcome", "bye", "", "to", "data", "id"]

    def value(depth: int = 0) -> object:
        kind = rng.randrange(7 if depth < 2 else 4)
        if kind == 0:
            return rng.choice(words)
        if kind == 1:
            return rng.randint(-(2**40), 2**40)
        if kind == 2:
            return rng.choice([None, True, False, 1.5])
        if kind == 3:
            return "".join(chr(rng.randrange(1, 0x2FF)) for _ in range(rng.randrange(20)))
        if kind == 4:
            return [value(depth + 1) for _ in range(rng.randrange(3))]
        return {rng.choice(words): value(depth + 1) for _ in range(rng.randrange(4))}

    async with live_server() as server:
        owner, room = await server.room()
        alice = await server.join(room, owner)
        bob = await server.join(room, name="Bob")
        async with SignalSocket.open(server.url()) as a, SignalSocket.open(server.url()) as b:
            await a.hello(alice.token)
            await b.hello(bob.token)
            await a.receive()  # joined
            for _ in range(60):
                message = {"type": rng.choice(words[:4])} | {
                    rng.choice(words): value() for _ in range(rng.randrange(3))
                }
                if message["type"] == "hello" or message.get("type") == "ping":
                    message["type"] = "remove"
                await b.send(json.dumps(message))
                answer = await b.receive()
                assert answer["type"] == "error", (message, answer)
                assert answer["reason"] in ("bad-message", "unknown-peer", "forbidden")
            await b.send({"type": "signal", "to": a.id, "data": {"still": "here"}})
            await a.expect({"type": "signal", "from": b.id, "data": {"still": "here"}})
