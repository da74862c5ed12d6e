"""The FxA OAuth login, ``/fxa-oauth/*`` (loop-api.md §3.8, client-usage.md §1.7), against a
loopback stand-in of the FxA OAuth and profile servers, on both backends."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from loop.config import FxaOAuthSettings
from tests.routes.conftest import Harness
from tests.support.client import HawkSession, assert_error
from tests.support.fxa_server import CLIENT_ID, CLIENT_SECRET, FxaServer
from tests.support.rooms import ROOM, harness_with, join

EMAIL = "Bob@Example.com"


@pytest.fixture
def fxa_server() -> Iterator[FxaServer]:
    with FxaServer() as server:
        yield server


def oauth_settings(base: str, **changes: Any) -> FxaOAuthSettings:
    values: dict[str, Any] = {
        "activated": True,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "oauth_uri": f"{base}/v1",
        "profile_uri": f"{base}/v1",
        "content_uri": "https://accounts.example",
        **changes,
    }
    return FxaOAuthSettings(**values)


@pytest.fixture
async def harness(storage_url: str, fxa_server: FxaServer) -> AsyncIterator[Harness]:
    async with harness_with(storage_url, fxa_oauth=oauth_settings(fxa_server.url())) as h:
        yield h


async def params(harness: Harness, session: HawkSession | None = None) -> Any:
    return await harness.client.post("/fxa-oauth/params", json={}, hawk=session)


async def start(harness: Harness) -> tuple[HawkSession, str]:
    """``POST /fxa-oauth/params`` without credentials: a new OAuth session and its state."""
    response = await params(harness)
    assert response.status_code == 200, response.text
    return HawkSession.from_token(response.headers["hawk-session-token"]), response.json()["state"]


async def trade(harness: Harness, session: HawkSession, **body: Any) -> Any:
    return await harness.client.post("/fxa-oauth/token", json=body, hawk=session)


async def logged_in(harness: Harness, server: FxaServer, email: str = EMAIL) -> HawkSession:
    session, state = await start(harness)
    response = await trade(harness, session, state=state, code=server.add_code(email))
    assert response.status_code == 200, response.text
    return session


# -- params ------------------------------------------------------------------------------


async def test_params_create_an_oauth_session(harness: Harness, fxa_server: FxaServer) -> None:
    response = await params(harness)
    assert response.status_code == 200
    assert re.fullmatch("[0-9a-f]{64}", response.headers["hawk-session-token"])
    assert response.headers["access-control-expose-headers"] == "Hawk-Session-Token"
    body = response.json()
    assert re.fullmatch("[0-9a-f]{64}", body.pop("state"))
    assert body == {
        "client_id": CLIENT_ID,
        "redirect_uri": "urn:ietf:wg:oauth:2.0:fx:webchannel",
        "profile_uri": fxa_server.url("/v1"),
        "content_uri": "https://accounts.example",
        "oauth_uri": fxa_server.url("/v1"),
        "scope": "profile",
    }
    assert CLIENT_SECRET not in response.text


async def test_params_again_return_the_same_state(harness: Harness) -> None:
    session, state = await start(harness)
    again = await params(harness, session)
    assert again.status_code == 200
    assert again.json()["state"] == state
    assert "hawk-session-token" not in again.headers


async def test_a_plain_session_is_not_an_oauth_session(harness: Harness) -> None:
    guest = await harness.client.register()
    for response in (
        await params(harness, guest),
        await harness.client.get("/fxa-oauth/token", hawk=guest),
        await trade(harness, guest, state="s", code="c"),
    ):
        assert_error(response, 401, 110, "Unknown credentials")
        assert response.headers["www-authenticate"] == 'Hawk error="Unknown credentials"'


async def test_token_routes_need_hawk(harness: Harness) -> None:
    for method in ("GET", "POST"):
        response = await harness.client.request(method, "/fxa-oauth/token", json={})
        assert_error(response, 401, 110)
        assert response.headers["www-authenticate"] == "Hawk"


async def test_routes_do_not_exist_unless_activated(storage_url: str) -> None:
    async with harness_with(storage_url) as harness:
        harness.client.prefix = "/v0"
        assert_error(await params(harness), 404, 999)
        assert_error(await harness.client.get("/fxa-oauth/token"), 404, 999)


# -- the login ---------------------------------------------------------------------------


async def test_a_login_binds_the_session_to_the_account(
    harness: Harness, fxa_server: FxaServer
) -> None:
    session, state = await start(harness)
    assert (await harness.client.get("/fxa-oauth/token", hawk=session)).json() == {}
    response = await trade(harness, session, state=state, code=fxa_server.add_code(EMAIL))
    assert response.status_code == 200
    grant = response.json()
    assert grant["token_type"] == "bearer" and grant["scope"] == "profile"
    stored = await harness.client.get("/fxa-oauth/token", hawk=session)
    assert stored.json() == {"access_token": grant["access_token"]}
    [call] = fxa_server.calls_to("/v1/token")
    assert call.json["client_id"] == CLIENT_ID and call.json["client_secret"] == CLIENT_SECRET
    [profile] = fxa_server.calls_to("/v1/profile")
    assert profile.headers["authorization"] == f"Bearer {grant['access_token']}"
    assert (await harness.client.delete("/session", hawk=session)).status_code == 204


async def test_logged_in_devices_share_rooms_and_show_the_account(
    harness: Harness, fxa_server: FxaServer
) -> None:
    laptop = await logged_in(harness, fxa_server)
    phone = await logged_in(harness, fxa_server, EMAIL.upper())
    token = (await harness.client.post("/rooms", json=ROOM, hawk=laptop)).json()["roomToken"]
    assert [r["roomToken"] for r in (await harness.client.get("/rooms", hawk=phone)).json()] == [
        token
    ]
    assert (await join(harness, token, phone)).status_code == 200
    view = (await harness.client.get(f"/rooms/{token}", hawk=laptop)).json()
    assert [p["account"] for p in view["participants"]] == [EMAIL.upper()]


async def test_a_wrong_state_is_refused_and_rotates_the_state(
    harness: Harness, fxa_server: FxaServer
) -> None:
    session, state = await start(harness)
    code = fxa_server.add_code(EMAIL)
    assert_error(
        await trade(harness, session, state="nope", code=code), 400, 114, "Invalid OAuth state"
    )
    assert_error(
        await trade(harness, session, state=state, code=code), 400, 114, "Invalid OAuth state"
    )
    fresh = (await params(harness, session)).json()["state"]
    assert fresh != state
    assert fxa_server.calls_to("/v1/token") == []
    assert (await trade(harness, session, state=fresh, code=code)).status_code == 200


@pytest.mark.parametrize(
    ("body", "missing"),
    [({}, "state, code"), ({"state": "s"}, "code"), ({"code": "c"}, "state")],
)
async def test_state_and_code_are_required(
    harness: Harness, body: dict[str, str], missing: str
) -> None:
    session, _ = await start(harness)
    assert_error(await trade(harness, session, **body), 400, 108, f"Missing: {missing}")


async def test_an_unknown_code_is_a_503(harness: Harness) -> None:
    session, state = await start(harness)
    response = await trade(harness, session, state=state, code="unknown")
    assert_error(response, 503, 201)
    assert (await harness.client.get("/fxa-oauth/token", hawk=session)).json() == {}


@pytest.mark.parametrize("path", ["/v1/token", "/v1/profile"])
async def test_an_unreachable_fxa_is_a_503(
    storage_url: str, fxa_server: FxaServer, path: str, refused_port: int
) -> None:
    dead = f"http://127.0.0.1:{refused_port}"
    key = "oauth_uri" if path == "/v1/token" else "profile_uri"
    settings = oauth_settings(fxa_server.url(), **{key: f"{dead}/v1"})
    async with harness_with(storage_url, fxa_oauth=settings) as harness:
        session, state = await start(harness)
        response = await trade(harness, session, state=state, code=fxa_server.add_code(EMAIL))
        assert_error(response, 503, 201, "Service Unavailable")
        assert response.headers["retry-after"] == "30"


async def test_a_profile_that_is_not_json_is_a_503_106(
    harness: Harness, fxa_server: FxaServer
) -> None:
    fxa_server.override("/v1/profile", 200, "<html>oops</html>")
    session, state = await start(harness)
    response = await trade(harness, session, state=state, code=fxa_server.add_code(EMAIL))
    body = assert_error(response, 503, 106)
    assert body["error"].startswith("SyntaxError: ")
    assert body["error"].endswith(" JSON: <html>oops</html>")


@pytest.mark.parametrize("profile", [{"uid": "x"}, {"code": 401, "message": "Unauthorized"}])
async def test_a_profile_without_email_is_a_503_201(
    harness: Harness, fxa_server: FxaServer, profile: dict[str, Any]
) -> None:
    fxa_server.override("/v1/profile", 200, profile)
    session, state = await start(harness)
    response = await trade(harness, session, state=state, code=fxa_server.add_code(EMAIL))
    assert_error(
        response, 503, 201, "email not found in the oauth server request. [object Object]"
    )
    registered = await harness.client.delete("/session", hawk=session)
    assert_error(registered, 403, 110, "You should be a registered user to perform this action.")
