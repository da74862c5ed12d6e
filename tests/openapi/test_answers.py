"""Real answers of a scripted session validate against the document: each status is
declared, and each body matches its schema (errors included)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from loop.clock import FakeClock
from tests.openapi.support import check_answer
from tests.support.app import make_settings, running_app
from tests.support.client import HawkSession, LoopClient

CONTEXT = {"value": "encrypted", "alg": "AES-GCM", "wrappedKey": "key"}


class Session:
    """A Hawk client under ``/v0`` that checks every answer against the document."""

    def __init__(self, client: LoopClient, described: dict[str, Any]) -> None:
        self.client = client
        self.described = described
        self.checked: list[tuple[str, str, int]] = []

    async def call(
        self, method: str, template: str, path: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        response = await self.client.request(method, path or template, **kwargs)
        check_answer(self.described, "/v0" + template, response)
        self.checked.append((method, template, response.status_code))
        return response


@pytest.fixture
async def session(storage_url: str) -> AsyncIterator[tuple[Session, FakeClock]]:
    settings = make_settings(storage_url, push_server_uris=[])
    async with running_app(settings) as (app, _services, clock):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://localhost:5000"
        ) as http:
            yield Session(LoopClient(http, clock, prefix="/v0"), app.state.openapi), clock


async def test_a_scripted_session_answers_as_described(
    session: tuple[Session, FakeClock],
) -> None:
    s, _clock = session
    for path in ("/", "/__heartbeat__", "/__lbheartbeat__", "/__version__", "/api-specs"):
        assert (await s.call("GET", path)).status_code == 200
    await s.call("GET", "/push-server-config")
    await s.call("GET", "/openapi.json")

    created = await s.call("POST", "/registration", json={})
    owner = HawkSession.from_token(created.headers["Hawk-Session-Token"])
    await s.call("POST", "/registration", json={}, hawk=owner)
    other = HawkSession.from_token(
        (await s.call("POST", "/registration", json={})).headers["Hawk-Session-Token"]
    )

    body = {"context": CONTEXT, "roomOwner": "Alice", "maxSize": 3}
    room = (await s.call("POST", "/rooms", json=body, hawk=owner)).json()
    token = room["roomToken"]
    at = f"/rooms/{token}"
    legacy = {"roomName": "Old", "roomOwner": "Alice", "maxSize": "2"}
    await s.call("POST", "/room-url", json=legacy, hawk=owner)

    join = {"action": "join", "displayName": "Bob", "clientMaxSize": 3}
    await s.call("POST", "/rooms/{token}", at, json=join)
    await s.call("POST", "/rooms/{token}", at, json=join, hawk=other)
    assert (await s.call("GET", "/rooms/{token}", at, hawk=owner)).json()["currSize"] == 2
    assert "participants" not in (await s.call("GET", "/rooms/{token}", at)).json()
    await s.call("POST", "/rooms/{token}", at, json={"action": "refresh"}, hawk=other)
    status = {"action": "status", "event": "e", "state": "s", "connections": 1}
    status |= {"sendStreams": 1, "recvStreams": 1}
    await s.call("POST", "/rooms/{token}", at, json=status, hawk=other)
    logged = {"action": "logDomain", "domains": [{"domain": "example.com", "count": 2}]}
    await s.call("POST", "/rooms/{token}", at, json=logged, hawk=other)
    await s.call("POST", "/rooms/{token}", at, json={"action": "leave"}, hawk=other)
    await s.call("PATCH", "/rooms/{token}", at, json={"roomOwner": "Ann"}, hawk=owner)
    assert (await s.call("GET", "/rooms", hawk=owner)).status_code == 200
    await s.call("GET", "/rooms", "/rooms?version=1", hawk=owner)

    url = (await s.call("POST", "/call-url", json={"callerId": "c"}, hawk=owner)).json()
    call_at = f"/call-url/{url['callToken']}"
    await s.call("GET", "/call-url", hawk=owner)
    await s.call("PUT", "/call-url/{token}", call_at, json={"subject": "s"}, hawk=owner)
    await s.call("GET", "/calls/{token}", f"/calls/{url['callToken']}")
    call = {"callType": "audio-video"}
    await s.call("POST", "/calls/{token}", f"/calls/{url['callToken']}", json=call)
    listed = await s.call("GET", "/calls", "/calls?version=0", hawk=owner)
    assert len(listed.json()["calls"]) == 1
    await s.call("DELETE", "/call-url/{token}", call_at, hawk=owner)

    await s.call("DELETE", "/rooms/{token}", at, hawk=owner)
    await s.call("GET", "/rooms", "/rooms?version=1", hawk=owner)
    bulk = {"deleteRoomTokens": [token]}
    assert (await s.call("PATCH", "/rooms", json=bulk, hawk=owner)).status_code == 404
    await s.call("DELETE", "/registration", hawk=other)
    await s.call("DELETE", "/account", hawk=other)
    await s.call("DELETE", "/session", hawk=owner)
    assert len(s.checked) == 36


async def test_error_answers_are_described(session: tuple[Session, FakeClock]) -> None:
    s, _clock = session
    owner = await s.client.register()
    missing = "/rooms/aaaaaaaaaaa"
    cases: list[tuple[str, str, str | None, dict[str, Any], int]] = [
        ("GET", "/rooms", None, {}, 401),
        ("POST", "/rooms", None, {"content": b"{", "hawk": owner}, 400),
        ("POST", "/rooms", None, {"json": {"roomOwner": "A"}, "hawk": owner}, 400),
        ("GET", "/rooms/{token}", missing, {}, 404),
        ("POST", "/rooms/{token}", missing, {"json": {"action": "join"}}, 404),
        ("PATCH", "/rooms/{token}", missing, {"json": {}, "hawk": owner}, 404),
        ("GET", "/calls", None, {"hawk": owner}, 400),
        ("POST", "/calls", None, {"json": {}, "hawk": owner}, 403),
        (
            "POST",
            "/event",
            None,
            {"json": {"event": 1, "action": 1, "label": 1}, "hawk": owner},
            405,
        ),
        ("GET", "/calls/{token}", "/calls/aaaaaaaaaaa", {}, 404),
        ("POST", "/registration", None, {"headers": {"Authorization": "Digest x"}}, 401),
        ("POST", "/registration", None, {"headers": {"Accept": "text/plain"}}, 406),
    ]
    for method, template, path, kwargs, code in cases:
        response = await s.call(method, template, path, **kwargs)
        assert response.status_code == code, (method, template, response.text)
        assert response.json()["code"] == code
