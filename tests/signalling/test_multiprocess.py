"""Signalling across server processes: two real ``loop-server`` processes on one Redis, the
room's owner connected to one and the guest to the other. Welcome, joined, relay, remove,
replacement and departures must all cross processes through the storage's pub/sub."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.client import HawkSession, LoopClient
from tests.support.rooms import ROOM, basic
from tests.support.signalling import SignalSocket
from tests.test_calls_multiprocess import client, two_servers

WEBRTC = {"LOOP_MEDIA__PROVIDER": "webrtc", "LOOP_WEBRTC__MEMBERSHIP_CHECK_INTERVAL": "0.2"}


def signalling_url(base: str) -> str:
    """The socket of the server at ``base`` (``…/v0``): both paths serve it."""
    return base.replace("http://", "ws://") + "/signalling"


async def join(
    loop: LoopClient, room: str, name: str, session: HawkSession | None = None
) -> dict[str, Any]:
    body = {"action": "join", "displayName": name, "clientMaxSize": 5}
    response = await loop.post(f"/rooms/{room}", json=body, hawk=session)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def test_members_on_two_processes_see_each_other(redis_url: str, tmp_path: Path) -> None:
    with two_servers(redis_url, tmp_path, **WEBRTC) as (first, second):
        async with client(first) as a, client(second) as b:
            owner = await a.register()
            created = await a.post("/rooms", json=ROOM, hawk=owner)
            assert created.status_code == 201, created.text
            room = created.json()["roomToken"]
            alice = await join(a, room, "Alice", owner)
            bob = await join(b, room, "Bob")
            carol = await join(b, room, "Carol")
            async with (
                SignalSocket.open(signalling_url(first)) as sa,
                SignalSocket.open(signalling_url(second)) as sb,
            ):
                await sa.hello(alice["sessionToken"])
                welcome = await sb.hello(bob["sessionToken"])
                assert [peer["id"] for peer in welcome["peers"]] == [sa.id]
                assert welcome["peers"][0]["data"]["displayName"] == "Alice"
                joined = await sa.receive()
                assert joined["type"] == "joined" and joined["peer"]["id"] == sb.id
                assert joined["peer"]["data"]["displayName"] == "Bob"

                offer = {"description": {"type": "offer", "sdp": "v=0\r\n"}}
                await sb.send({"type": "signal", "to": sa.id, "data": offer})
                await sa.expect({"type": "signal", "from": sb.id, "data": offer})
                answer = {"description": {"type": "answer", "sdp": "v=0\r\n"}}
                await sa.send({"type": "signal", "to": sb.id, "data": answer})
                await sb.expect({"type": "signal", "from": sa.id, "data": answer})

                # Bob opens a second socket on the other process: the first one is replaced.
                async with SignalSocket.open(signalling_url(first)) as again:
                    welcome = await again.hello(bob["sessionToken"])
                    assert [peer["id"] for peer in welcome["peers"]] == [sa.id]
                    await sb.expect_bye("replaced")
                    seen = [await sa.receive(), await sa.receive()]
                    assert {"type": "left", "id": sb.id, "reason": "replaced"} in seen
                    assert {"joined"} == {m["type"] for m in seen} - {"left"}

                    # Carol, on the second process, is removed by the owner on the first.
                    async with SignalSocket.open(signalling_url(second)) as sc:
                        await sc.hello(carol["sessionToken"])
                        for member in (sa, again):
                            assert (await member.receive())["type"] == "joined"
                        await sa.send({"type": "remove", "id": sc.id})
                        await sc.expect_bye("removed")
                        for member in (sa, again):
                            await member.expect({"type": "left", "id": sc.id, "reason": "removed"})
                    refresh = await b.post(
                        f"/rooms/{room}",
                        json={"action": "refresh"},
                        headers=basic(carol["sessionToken"]),
                    )
                    assert refresh.status_code == 401, refresh.text

                    # Bob leaves over REST on the second process; his socket is on the first.
                    left = await b.post(
                        f"/rooms/{room}",
                        json={"action": "leave"},
                        headers=basic(bob["sessionToken"]),
                    )
                    assert left.status_code == 204, left.text
                    await again.expect_bye("left")
                    await sa.expect({"type": "left", "id": again.id, "reason": "left"})
