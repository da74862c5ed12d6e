"""Nothing secret in logs, ever (issue 12.6; README "Logs").

A realistic session against a real uvicorn on a free port, every logger at DEBUG (the
server's, uvicorn's, the libraries'), written in both formats: BrowserID sign-ins with
e-mail identities, push URLs, rooms joined, refreshed and left by a link-clicker with a
participant token, the signalling socket, call URLs, direct and link calls, ``GET /calls``,
the call-progress socket, a 404 and a 500 whose exception quotes the whole answer. Then
every token, id, e-mail and push URL the session made is looked for in all the output.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from websockets.asyncio.client import connect

from loop import browserid
from loop.app import Services, create_app
from loop.browserid import SecretKey
from loop.clock import SystemClock
from loop.config import BrowserIDSettings, LoggingSettings, MediaSettings, WebRTCSettings
from loop.logging import QUIET_LOGGERS, TextFormatter, UvicornScrubber, configure_logging
from loop.web.websocket import LeanWebSocketProtocol
from tests.support.app import make_settings
from tests.support.client import HawkSession, LoopClient
from tests.support.identities import AUDIENCE, FXA_ISSUER, Certifier, backed_assertion, fxa_claims
from tests.support.ports import bound_socket, port_of
from tests.support.push_server import PushServer
from tests.support.rooms import ROOM
from tests.support.signalling import SignalSocket
from tests.support.waiting import DEADLINE, eventually

ALICE = "Alice.Secret@Example.com"
BOB = "bob.hidden@example.org"


class Secrets:
    """Everything the scenario made that no log line may hold."""

    def __init__(self) -> None:
        self.values: set[str] = set()

    def add(self, *values: Any) -> None:
        for value in values:
            if isinstance(value, str) and len(value) >= 6:
                self.values.add(value)

    def add_session(self, session: HawkSession) -> None:
        self.add(session.token, session.id, session.key)

    def found_in(self, text: str) -> list[str]:
        lowered = text.lower()
        return sorted(value for value in self.values if value.lower() in lowered)


@pytest.fixture(scope="module")
def fxa() -> Certifier:
    return Certifier.generate(FXA_ISSUER)


@pytest.fixture(scope="module")
def device() -> SecretKey:
    return browserid.generate("RS256")


@pytest.fixture
def captured() -> Iterator[tuple[io.StringIO, io.StringIO]]:
    """All log output at DEBUG, in MozLog JSON and in text; the root logger restored after."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    quiet = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    json_out, text_out = io.StringIO(), io.StringIO()
    configure_logging(LoggingSettings(level="DEBUG", format="json"), stream=json_out)
    text_handler = logging.StreamHandler(text_out)
    text_handler.setFormatter(TextFormatter())
    text_handler.addFilter(UvicornScrubber())
    root.addHandler(text_handler)
    try:
        yield json_out, text_out
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, old in quiet.items():
            logging.getLogger(name).setLevel(old)


@contextlib.asynccontextmanager
async def real_server(storage_url: str, fxa: Certifier) -> AsyncIterator[tuple[Services, int]]:
    """The app on uvicorn with the logging options ``loop-server`` gives it (no access
    log, no logging config of uvicorn's own)."""
    with bound_socket() as sock:
        port = port_of(sock)
        settings = make_settings(
            storage_url,
            media=MediaSettings(provider="webrtc"),
            public_server_address=f"127.0.0.1:{port}",
            fxa_audiences=[AUDIENCE],
            browserid=BrowserIDSettings(
                trusted_issuers={fxa.issuer: {"public_key": fxa.public_key.to_json()}}
            ),
            webrtc=WebRTCSettings(membership_check_interval=0.1),
        )
        app = create_app(settings, clock=SystemClock(), background_jobs=True)
        config = uvicorn.Config(
            app, log_config=None, access_log=False, lifespan="on", ws=LeanWebSocketProtocol
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve(sockets=[sock]))
        await eventually(lambda: server.started or task.done(), what="uvicorn start")
        services: Services = app.state.services
        await services.storage.flush()
        try:
            yield services, port
        finally:
            server.should_exit = True
            await asyncio.wait_for(task, DEADLINE)


async def sign_in(
    client: LoopClient, fxa: Certifier, device: SecretKey, email: str, push: str
) -> HawkSession:
    now = client.clock.now()
    certificate = fxa.certify(device, now=now, claims=fxa_claims(email))
    assertion = backed_assertion(certificate, device, now=now)
    response = await client.post(
        "/registration",
        json={"simplePushURLs": {"calls": push, "rooms": push}},
        headers={"Authorization": f"BrowserID {assertion}"},
    )
    assert response.status_code == 200, response.text
    return HawkSession.from_token(response.headers["Hawk-Session-Token"])


def leaks(secrets: Secrets, output: str) -> list[tuple[str, str]]:
    """(secret, line) for each secret found, to show where it leaked."""
    return [(secret, line) for line in output.splitlines() for secret in secrets.found_in(line)]


def basic(token: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{token}:".encode()).decode()}


async def rooms_scenario(client: LoopClient, owner: HawkSession, secrets: Secrets) -> None:
    """Create, join as a link-clicker (and on the signalling socket), refresh, leave."""
    created = await client.post("/rooms", json=ROOM, hawk=owner)
    assert created.status_code == 201, created.text
    room = created.json()
    secrets.add(room["roomToken"], room["roomUrl"])
    token = room["roomToken"]
    body = {"action": "join", "displayName": "Guest", "clientMaxSize": 5}
    joined = await client.post(f"/rooms/{token}", json=body)
    assert joined.status_code == 200, joined.text
    answer = joined.json()
    secrets.add(answer["sessionToken"], answer.get("sessionId"), answer.get("apiKey"))
    async with SignalSocket.open(answer["signallingUrl"] + "?token=" + token) as socket:
        welcome = await socket.hello(answer["sessionToken"])
        secrets.add(welcome["id"])
    guest = basic(answer["sessionToken"])
    for action in ("refresh", "leave"):
        response = await client.post(f"/rooms/{token}", json={"action": action}, headers=guest)
        assert response.status_code in (200, 204), response.text
    assert (await client.get(f"/v0/rooms/{token}", hawk=owner)).status_code == 200
    assert (await client.get(f"/rooms/{token}/nowhere?token={token}")).status_code in (307, 404)


async def calls_scenario(
    client: LoopClient, alice: HawkSession, bob: HawkSession, port: int, secrets: Secrets
) -> list[Any]:
    """A call URL and a call from it, a direct call, ``GET /calls``, the progress socket."""
    url = await client.post("/call-url", json={"callerId": ALICE}, hawk=bob)
    assert url.status_code == 200, url.text
    call_url = url.json()["callUrl"]
    url_token = call_url.rstrip("/").rsplit("/", 1)[-1]
    secrets.add(call_url, url_token)
    assert (await client.get(f"/calls/{url_token}")).status_code == 200
    from_link = await client.post(f"/calls/{url_token}", json={"callType": "audio"})
    assert from_link.status_code == 200, from_link.text
    direct = await client.post(
        "/calls", json={"calleeId": BOB, "callType": "audio-video"}, hawk=alice
    )
    assert direct.status_code == 200, direct.text
    for answer in (from_link.json(), direct.json()):
        secrets.add(*(answer[key] for key in ("callId", "websocketToken", "sessionToken")))
        secrets.add(answer["sessionId"])
    listed = await client.get("/calls?version=0", hawk=bob)
    assert listed.status_code == 200, listed.text
    calls: list[Any] = listed.json()["calls"]
    for call in calls:
        secrets.add(call["sessionToken"], call["websocketToken"])
    caller = direct.json()
    ws_url = f"ws://127.0.0.1:{port}/websocket?token={caller['websocketToken']}"
    async with connect(ws_url, open_timeout=DEADLINE) as ws:
        hello = {
            "messageType": "hello",
            "callId": caller["callId"],
            "auth": caller["websocketToken"],
        }
        await ws.send(json.dumps(hello))
        assert json.loads(await asyncio.wait_for(ws.recv(), DEADLINE))["messageType"] == "hello"
    return calls


async def test_a_full_session_leaves_no_token_or_identity_in_any_log(
    storage_url: str,
    fxa: Certifier,
    device: SecretKey,
    captured: tuple[io.StringIO, io.StringIO],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secrets = Secrets()
    secrets.add(ALICE, BOB)
    with PushServer() as push:
        async with real_server(storage_url, fxa) as (services, port):
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                client = LoopClient(http, SystemClock())
                alice_push, bob_push = push.url("/push-alice-x9q"), push.url("/push-bob-k2w")
                secrets.add(alice_push, bob_push, "push-alice-x9q", "push-bob-k2w")
                alice = await sign_in(client, fxa, device, ALICE, alice_push)
                bob = await sign_in(client, fxa, device, BOB, bob_push)
                secrets.add_session(alice)
                secrets.add_session(bob)
                await rooms_scenario(client, alice, secrets)
                calls = await calls_scenario(client, alice, bob, port, secrets)
                assert calls

                original = services.storage.list_calls

                async def quoting_failure(*args: Any, **kwargs: Any) -> Any:
                    found = await original(*args, **kwargs)
                    raise RuntimeError(f"cannot answer {found!r} for {BOB}")

                monkeypatch.setattr(services.storage, "list_calls", quoting_failure)
                failed = await client.get("/calls?version=0", hawk=bob)
                assert failed.status_code == 500
                failed_rid = failed.headers["x-request-id"]
            await push.wait_for(3)
    json_text, text = (out.getvalue() for out in captured)
    entries = [json.loads(line) for line in json_text.splitlines()]
    (error,) = [e for e in entries if e["Fields"]["msg"] == "unexpected error"]
    assert error["Fields"]["rid"] == failed_rid
    assert error["Fields"]["error"] == "RuntimeError"
    assert "in quoting_failure" in error["Fields"]["traceback"]
    paths = {e["Fields"]["path"] for e in entries if e["Fields"]["msg"] == "request.summary"}
    assert {"/rooms/{token}", "/v0/rooms/{token}", "/calls/{token}", "unmatched"} <= paths
    sockets = [e["Fields"] for e in entries if e["Fields"]["msg"] == "websocket.summary"]
    assert sorted((f["path"], f["code"]) for f in sockets) == [
        ("/signalling", 101),
        ("{progress_url_endpoint}", 101),
    ]
    assert all(len(f["rid"]) == 32 and f["remote"] == "127.0.0.1" for f in sockets)
    assert "\x1b" not in json_text + text
    assert leaks(secrets, json_text) == []
    assert leaks(secrets, text) == []
    assert len(secrets.values) > 20
