"""The signalling socket's rules (docs/signalling.md), with plain WebSocket clients against a
real server, on both backends: welcome, joined/left, relay, remove, and every bye."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator

from tests.signalling.conftest import Joined, LiveServer, ServerFactory
from tests.support.calls import sign_in
from tests.support.push_server import PushServer
from tests.support.signalling import SignalSocket


def data_of(joined: Joined) -> dict[str, object]:
    """The D3 object a member's peers see: what the server sealed in its token (tests may
    read the claims; clients treat the token as opaque)."""
    payload = joined.token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data: dict[str, object] = json.loads(claims["d"])
    assert set(data) == {"displayName", "id"}
    return data


@contextlib.asynccontextmanager
async def connected(server: LiveServer, joined: Joined) -> AsyncIterator[SignalSocket]:
    async with SignalSocket.open(joined.answer["signallingUrl"]) as socket:
        yield socket


async def test_join_answer_names_the_socket_and_the_ice_servers(
    live_server: ServerFactory,
) -> None:
    async with live_server() as server:
        owner, room = await server.room()
        joined = await server.join(room, owner, name="Alice")
        answer = joined.answer
        assert set(answer) == {
            "apiKey",
            "sessionId",
            "sessionToken",
            "expires",
            "iceServers",
            "signallingUrl",
        }
        assert answer["apiKey"] == "webrtc"
        assert isinstance(answer["sessionId"], str) and len(answer["sessionId"]) >= 24
        assert answer["iceServers"] == []
        assert answer["signallingUrl"] == f"ws://127.0.0.1:{server.port}/signalling"
        assert answer["expires"] == 300
        state = await server.services.storage.get_room(room, now=server.services.clock.now())
        assert state is not None and state.room.session_id == answer["sessionId"]


async def test_welcome_joined_and_relay(live_server: ServerFactory) -> None:
    async with live_server() as server:
        owner, room = await server.room()
        alice = await server.join(room, owner, name="Alice")
        bob = await server.join(room, name="Bob")
        async with connected(server, alice) as a, connected(server, bob) as b:
            welcome_a = await a.hello(alice.token)
            assert welcome_a == {"type": "welcome", "id": a.id, "role": "moderator", "peers": []}
            welcome_b = await b.hello(bob.token)
            assert welcome_b == {
                "type": "welcome",
                "id": b.id,
                "role": "publisher",
                "peers": [{"id": a.id, "data": data_of(alice)}],
            }
            assert a.id != b.id
            await a.expect({"type": "joined", "peer": {"id": b.id, "data": data_of(bob)}})

            offer = {"description": {"type": "offer", "sdp": "v=0\r\n"}}
            await b.send({"type": "signal", "to": a.id, "data": offer})
            await a.expect({"type": "signal", "from": b.id, "data": offer})
            candidate = {"candidate": {"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host"}}
            await a.send({"type": "signal", "to": b.id, "data": candidate})
            await b.expect({"type": "signal", "from": a.id, "data": candidate})

            await a.send({"type": "signal", "to": "nobody", "data": {}})
            await a.expect_error("unknown-peer")
            await a.send({"type": "signal", "to": a.id, "data": {}})
            await a.expect_error("unknown-peer")


async def test_the_v0_path_serves_the_same_socket(live_server: ServerFactory) -> None:
    async with live_server() as server:
        owner, room = await server.room()
        alice = await server.join(room, owner)
        async with SignalSocket.open(server.url("/v0/signalling")) as a:
            assert (await a.hello(alice.token))["role"] == "moderator"


async def test_rest_leave_says_bye_left(live_server: ServerFactory) -> None:
    async with live_server() as server:
        owner, room = await server.room()
        alice = await server.join(room, owner, name="Alice")
        bob = await server.join(room, name="Bob")
        async with connected(server, alice) as a, connected(server, bob) as b:
            await a.hello(alice.token)
            await b.hello(bob.token)
            await a.receive()  # joined
            response = await server.act(room, bob, "leave")
            assert response.status_code == 204
            await b.expect_bye("left")
            await a.expect({"type": "left", "id": b.id, "reason": "left"})


async def test_disconnect_then_reconnect(live_server: ServerFactory) -> None:
    async with live_server() as server:
        owner, room = await server.room()
        alice = await server.join(room, owner, name="Alice")
        bob = await server.join(room, name="Bob")
        async with connected(server, alice) as a:
            await a.hello(alice.token)
            async with connected(server, bob) as b:
                await b.hello(bob.token)
                await a.expect({"type": "joined", "peer": {"id": b.id, "data": data_of(bob)}})
            await a.expect({"type": "left", "id": b.id, "reason": "disconnected"})
            async with connected(server, bob) as again:
                welcome = await again.hello(bob.token)
                assert welcome["peers"] == [{"id": a.id, "data": data_of(alice)}]
                await a.expect({"type": "joined", "peer": {"id": again.id, "data": data_of(bob)}})


async def test_a_second_socket_replaces_the_first(live_server: ServerFactory) -> None:
    async with live_server() as server:
        owner, room = await server.room()
        alice = await server.join(room, owner, name="Alice")
        bob = await server.join(room, name="Bob")
        async with connected(server, alice) as a, connected(server, bob) as first:
            await a.hello(alice.token)
            await first.hello(bob.token)
            await a.receive()  # joined (first)
            async with connected(server, bob) as second:
                welcome = await second.hello(bob.token)
                assert welcome["peers"] == [{"id": a.id, "data": data_of(alice)}]
                await first.expect_bye("replaced")
                seen = [await a.receive(), await a.receive()]
                assert {"type": "left", "id": first.id, "reason": "replaced"} in seen
                joined = {"type": "joined", "peer": {"id": second.id, "data": data_of(bob)}}
                assert joined in seen


async def test_the_moderator_removes_a_participant(live_server: ServerFactory) -> None:
    async with live_server() as server:
        owner, room = await server.room()
        alice = await server.join(room, owner, name="Alice")
        bob = await server.join(room, name="Bob")
        carol = await server.join(room, name="Carol")
        async with (
            connected(server, alice) as a,
            connected(server, bob) as b,
            connected(server, carol) as c,
        ):
            await a.hello(alice.token)
            await b.hello(bob.token)
            await c.hello(carol.token)
            await a.receive(), await a.receive(), await b.receive()  # joined ones

            await b.send({"type": "remove", "id": c.id})
            await b.expect_error("forbidden")
            await a.send({"type": "remove", "id": "nobody"})
            await a.expect_error("unknown-peer")

            await a.send({"type": "remove", "id": c.id})
            await c.expect_bye("removed")
            await a.expect({"type": "left", "id": c.id, "reason": "removed"})
            await b.expect({"type": "left", "id": c.id, "reason": "removed"})
            state = await server.services.storage.get_room(room, now=server.services.clock.now())
            assert state is not None
            assert [p.display_name for p in state.participants] == ["Alice", "Bob"]
            refresh = await server.act(room, carol, "refresh")
            assert refresh.status_code == 401, refresh.text

            async with connected(server, carol) as again:
                await again.send({"type": "hello", "token": carol.token})
                await again.expect_refused("not-a-participant", 4401)


async def test_room_deletion_says_bye_to_everyone(live_server: ServerFactory) -> None:
    async with live_server() as server:
        owner, room = await server.room()
        alice = await server.join(room, owner, name="Alice")
        bob = await server.join(room, name="Bob")
        async with connected(server, alice) as a, connected(server, bob) as b:
            await a.hello(alice.token)
            await b.hello(bob.token)
            await a.receive()  # joined
            response = await server.client.delete(f"/rooms/{room}", hawk=owner)
            assert response.status_code == 204
            await a.expect_bye("room-deleted")
            await b.expect_bye("room-deleted")


async def test_account_deletion_closes_the_rooms_sockets(live_server: ServerFactory) -> None:
    """No event is published then: the membership check notices the room is gone."""
    async with live_server() as server:
        owner, room = await server.room()
        bob = await server.join(room, name="Bob")
        async with connected(server, bob) as b:
            await b.hello(bob.token)
            response = await server.client.delete("/account", hawk=owner)
            assert response.status_code == 204, response.text
            await b.expect_bye("room-deleted")


async def test_an_expired_participant_gets_bye_expired(live_server: ServerFactory) -> None:
    """Bob stops refreshing; Alice keeps refreshing and is told Bob left, expired."""
    async with live_server(participant_ttl=1.0) as server:
        owner, room = await server.room()
        alice = await server.join(room, owner, name="Alice")
        bob = await server.join(room, name="Bob")
        async with connected(server, alice) as a, connected(server, bob) as b:
            await a.hello(alice.token)
            await b.hello(bob.token)
            await a.receive()  # joined

            async def keep_alice() -> None:
                while True:
                    response = await server.act(room, alice, "refresh")
                    assert response.status_code == 200, response.text
                    await asyncio.sleep(0.2)

            refresher = asyncio.create_task(keep_alice())
            try:
                await b.expect_bye("expired")
                await a.expect({"type": "left", "id": b.id, "reason": "expired"})
            finally:
                refresher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await refresher


async def test_ping_pong(live_server: ServerFactory) -> None:
    async with live_server() as server:
        async with SignalSocket.open(server.url()) as socket:
            await socket.send({"type": "ping"})
            await socket.expect({"type": "pong"})


async def test_a_direct_call_admits_by_token_alone(live_server: ServerFactory) -> None:
    """Calls have no participants: the caller's and callee's tokens open the call channel."""
    with PushServer() as push:
        async with live_server() as server:
            await _call_channel(server, push)


async def _call_channel(server: LiveServer, push: PushServer) -> None:
    alice = await sign_in(server.services, server.client, "alice@example.com")
    await sign_in(server.services, server.client, "bob@example.com", {"calls": push.url("/b")})
    body = {"calleeId": "bob@example.com", "callType": "audio-video"}
    answer = await server.client.post("/calls", json=body, hawk=alice)
    assert answer.status_code == 200, answer.text
    call = answer.json()
    assert call["apiKey"] == "webrtc"
    stored = await server.services.storage.get_call(
        call["callId"], now=server.services.clock.now()
    )
    assert stored is not None and stored.session_id == call["sessionId"]
    async with (
        SignalSocket.open(server.url()) as caller,
        SignalSocket.open(server.url()) as callee,
    ):
        assert (await caller.hello(call["sessionToken"]))["peers"] == []
        welcome = await callee.hello(stored.callee_token)
        assert [peer["id"] for peer in welcome["peers"]] == [caller.id]
        await caller.expect({"type": "joined", "peer": {"id": callee.id, "data": {}}})
        await callee.send({"type": "signal", "to": caller.id, "data": {"x": 1}})
        await caller.expect({"type": "signal", "from": callee.id, "data": {"x": 1}})
        await caller.send({"type": "remove", "id": callee.id})
        await caller.expect_error("forbidden")
