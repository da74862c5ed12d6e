"""Every rule of the call-progress websocket (loop-api.md §6; decisions D28 and §6), with
real websocket clients against a running server, on SQLite and Redis. Timers are short
only in the tests about timers; every wait has a deadline, none is a fixed sleep."""

from __future__ import annotations

from typing import Any

import pytest

from loop.storage import BackendError
from tests.calls.conftest import SHORT, Peer, ServerFactory


async def test_caller_hello_answers_init(live_server: ServerFactory) -> None:
    async with live_server() as server:
        caller, _ = await server.start_call()
        async with Peer.open(server.ws_url) as alice:
            hello = await alice.hello(caller["callId"], caller["websocketToken"])
            assert hello == {"messageType": "hello", "state": "init"}


async def test_the_endpoint_may_be_configured_under_v0(live_server: ServerFactory) -> None:
    """The router tries the websocket before the ``/v0`` mount (loop/app.py)."""
    async with live_server(endpoint="/v0/progress") as server:
        caller, _ = await server.start_call()
        assert caller["progressURL"].endswith("/v0/progress")
        async with Peer.open(server.ws_url) as alice:
            hello = await alice.hello(caller["callId"], caller["websocketToken"])
            assert hello == {"messageType": "hello", "state": "init"}


async def test_full_call_to_connected_then_terminated_closed(live_server: ServerFactory) -> None:
    async with live_server() as server:
        caller, callee = await server.start_call()
        call_id = caller["callId"]
        async with Peer.open(server.ws_url) as alice, Peer.open(server.ws_url) as bob:
            assert (await alice.hello(call_id, caller["websocketToken"]))["state"] == "init"
            assert (await bob.hello(call_id, callee["websocketToken"]))["state"] == "init"
            await alice.expect("alerting")
            await bob.expect("alerting")
            await bob.action("accept")
            await alice.expect("connecting")
            await bob.expect("connecting")
            await alice.action("media-up")
            await alice.expect("half-connected")
            await bob.expect("half-connected")
            await bob.action("media-up")
            for peer in (alice, bob):
                await peer.expect("connected")
                await peer.expect_closed()
        async with Peer.open(server.ws_url) as late:
            hello = await late.hello(call_id, caller["websocketToken"])
            assert hello == {"messageType": "hello", "state": "terminated", "reason": "closed"}
        assert await server.listed_calls() == []


async def test_answered_elsewhere(live_server: ServerFactory) -> None:
    async with live_server() as server:
        caller, callee = await server.start_call()
        call_id, token = caller["callId"], callee["websocketToken"]
        async with (
            Peer.open(server.ws_url) as alice,
            Peer.open(server.ws_url) as laptop,
            Peer.open(server.ws_url) as phone,
        ):
            await alice.hello(call_id, caller["websocketToken"])
            await laptop.hello(call_id, token)
            await alice.expect("alerting")
            await laptop.expect("alerting")
            assert (await phone.hello(call_id, token))["state"] == "alerting"
            await laptop.action("accept")
            await laptop.expect("connecting")
            await alice.expect("connecting")
            await phone.expect("terminated", "answered-elsewhere")
            await phone.expect_closed()
            await alice.action("media-up")
            await alice.expect("half-connected")
            await laptop.expect("half-connected")


async def test_supervisory_timer(live_server: ServerFactory) -> None:
    async with live_server(supervisory=SHORT) as server:
        caller, _ = await server.start_call()
        async with Peer.open(server.ws_url) as alice:
            await alice.hello(caller["callId"], caller["websocketToken"])
            await alice.expect("terminated", "timeout")
            await alice.expect_closed()


async def test_ringing_timer(live_server: ServerFactory) -> None:
    async with live_server(ringing=SHORT) as server:
        caller, callee = await server.start_call()
        async with Peer.open(server.ws_url) as alice, Peer.open(server.ws_url) as bob:
            await alice.hello(caller["callId"], caller["websocketToken"])
            await bob.hello(caller["callId"], callee["websocketToken"])
            for peer in (alice, bob):
                await peer.expect("alerting")
                await peer.expect("terminated", "timeout")
                await peer.expect_closed()


async def test_connection_timer(live_server: ServerFactory) -> None:
    async with live_server(connection=SHORT) as server:
        caller, callee = await server.start_call()
        async with Peer.open(server.ws_url) as alice, Peer.open(server.ws_url) as bob:
            await alice.hello(caller["callId"], caller["websocketToken"])
            await bob.hello(caller["callId"], callee["websocketToken"])
            await alice.expect("alerting")
            await bob.expect("alerting")
            await bob.action("accept")
            for peer in (alice, bob):
                await peer.expect("connecting")
                await peer.expect("terminated", "timeout")
                await peer.expect_closed()


@pytest.mark.parametrize("reason", ["busy", "reject", "media-fail", "cancel"])
async def test_terminate_with_reason_reaches_both(live_server: ServerFactory, reason: str) -> None:
    async with live_server() as server:
        caller, callee = await server.start_call()
        async with Peer.open(server.ws_url) as alice, Peer.open(server.ws_url) as bob:
            await alice.hello(caller["callId"], caller["websocketToken"])
            await bob.hello(caller["callId"], callee["websocketToken"])
            await alice.expect("alerting")
            await bob.expect("alerting")
            await bob.action("terminate", reason=reason)
            for peer in (bob, alice):
                await peer.expect("terminated", reason)
                await peer.expect_closed()
        assert await server.listed_calls() == []


async def test_terminate_without_reason(live_server: ServerFactory) -> None:
    async with live_server() as server:
        caller, _ = await server.start_call()
        async with Peer.open(server.ws_url) as alice:
            await alice.hello(caller["callId"], caller["websocketToken"])
            await alice.action("terminate")
            await alice.expect("terminated")
            await alice.expect_closed()


async def test_closing_the_last_device_of_a_side_terminates(live_server: ServerFactory) -> None:
    async with live_server() as server:
        caller, callee = await server.start_call()
        call_id, token = caller["callId"], callee["websocketToken"]
        async with Peer.open(server.ws_url) as alice:
            await alice.hello(call_id, caller["websocketToken"])
            async with Peer.open(server.ws_url) as laptop:
                await laptop.hello(call_id, token)
                await alice.expect("alerting")
                await laptop.expect("alerting")
                async with Peer.open(server.ws_url) as phone:
                    await phone.hello(call_id, token)
                # The phone left but the laptop is still there: the call goes on.
                await laptop.action("accept")
                await alice.expect("connecting")
                await laptop.expect("connecting")
            await alice.expect("terminated", "closed")
            await alice.expect_closed()


async def test_closing_one_of_two_devices_does_not_end_the_call(
    live_server: ServerFactory,
) -> None:
    async with live_server() as server:
        caller, callee = await server.start_call()
        call_id, token = caller["callId"], callee["websocketToken"]
        async with Peer.open(server.ws_url) as alice, Peer.open(server.ws_url) as laptop:
            await alice.hello(call_id, caller["websocketToken"])
            await laptop.hello(call_id, token)
            async with Peer.open(server.ws_url) as phone:
                await phone.hello(call_id, token)
            for peer in (alice, laptop):
                await peer.expect("alerting")
            await laptop.action("accept")
            for peer in (alice, laptop):
                await peer.expect("connecting")
            await alice.action("media-up")
            for peer in (alice, laptop):
                await peer.expect("half-connected")
            await laptop.action("media-up")
            for peer in (alice, laptop):
                await peer.expect("connected")


async def test_a_state_is_not_sent_twice(live_server: ServerFactory) -> None:
    async with live_server() as server:
        caller, callee = await server.start_call()
        async with Peer.open(server.ws_url) as alice, Peer.open(server.ws_url) as bob:
            await alice.hello(caller["callId"], caller["websocketToken"])
            await bob.hello(caller["callId"], callee["websocketToken"])
            await alice.expect("alerting")
            await bob.action("accept")
            await alice.expect("connecting")
            await alice.action("media-up")
            await alice.expect("half-connected")
            await alice.action("media-up")  # same side again: no new state, no error
            await alice.send({"messageType": "echo", "echo": 1})
            assert await alice.receive() == {"messageType": "echo", "echo": 1}


async def test_echo(live_server: ServerFactory) -> None:
    async with live_server() as server, Peer.open(server.ws_url) as peer:
        await peer.send({"messageType": "echo", "echo": {"any": [1, "thing"]}})
        assert await peer.receive() == {"messageType": "echo", "echo": {"any": [1, "thing"]}}


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("not json", "Malformed message."),
        ("[1, 2]", "Malformed message."),
        # What the strict reader refuses (issue 12): never echoed, never a crash.
        ('{"messageType": "echo", "echo": "\\ud800"}', "Malformed message."),
        ('{"messageType": "echo", "echo": NaN}', "Malformed message."),
        ('{"messageType": "echo", "echo": 1e400}', "Malformed message."),
        ('{"messageType": "echo", "echo": 18446744073709551616}', "Malformed message."),
        ('{"messageType": "echo", "echo": ' + "[" * 2000 + "]" * 2000 + "}", "Malformed message."),
        ({"messageType": "dance"}, "Unknown messageType"),
        ({"callId": "x"}, "Unknown messageType"),
        ({"messageType": "hello"}, "Missing parameters: callId, auth"),
        ({"messageType": "hello", "callId": "x"}, "Missing parameters: auth"),
        ({"messageType": "hello", "callId": "nope", "auth": "x"}, "bad callId"),
    ],
)
async def test_message_errors(live_server: ServerFactory, message: Any, reason: str) -> None:
    async with live_server() as server, Peer.open(server.ws_url) as peer:
        await peer.send(message)
        await peer.expect_error(reason)


async def test_bad_authentication(live_server: ServerFactory) -> None:
    async with live_server() as server:
        caller, _ = await server.start_call()
        async with Peer.open(server.ws_url) as peer:
            await peer.send({"messageType": "hello", "callId": caller["callId"], "auth": "x" * 32})
            await peer.expect_error("bad authentication")


@pytest.mark.parametrize(
    ("action", "reason"),
    [
        ({}, "Missing parameters: event"),
        (
            {"event": "dance"},
            "dance state is invalid. Should be one of: accept, media-up, terminate",
        ),
        ({"event": "terminate", "reason": "no way!"}, "Invalid reason: should be alphanumeric"),
        ({"event": "accept"}, "No transition from half-initiated state with accept event."),
        ({"event": "media-up"}, "No transition from half-initiated state with media-up event."),
    ],
)
async def test_action_errors(live_server: ServerFactory, action: Any, reason: str) -> None:
    async with live_server() as server:
        caller, _ = await server.start_call()
        async with Peer.open(server.ws_url) as alice:
            await alice.hello(caller["callId"], caller["websocketToken"])
            await alice.send({"messageType": "action", **action})
            await alice.expect_error(reason)


async def test_accept_is_refused_while_ringing_is_not_reached(live_server: ServerFactory) -> None:
    async with live_server() as server:
        caller, callee = await server.start_call()
        async with Peer.open(server.ws_url) as alice, Peer.open(server.ws_url) as bob:
            await alice.hello(caller["callId"], caller["websocketToken"])
            await bob.hello(caller["callId"], callee["websocketToken"])
            await alice.expect("alerting")
            await alice.action("media-up")
            await alice.expect_error("No transition from alerting state with media-up event.")


async def test_storage_failure_is_service_unavailable(
    live_server: ServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with live_server() as server:
        caller, _ = await server.start_call()

        async def broken(*args: Any, **kwargs: Any) -> None:
            raise BackendError(message="down")

        monkeypatch.setattr(server.services.storage, "get_call", broken)
        async with Peer.open(server.ws_url) as alice:
            await alice.send({"messageType": "hello", "callId": caller["callId"], "auth": "x"})
            await alice.expect_error("Service Unavailable")
