"""Service information and health (loop-api.md §4.1-§4.5, §4.13; decisions D14, D19)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any

import pytest

from loop.config import CallUrlsSettings, GaSettings, MediaSettings, RoomsSettings
from loop.hawk import hawk_id_hmac
from loop.routes import dockerflow
from tests.routes.conftest import Harness
from tests.support.client import assert_error
from tests.support.push_server import PushServer


def configure(harness: Harness, **overrides: Any) -> None:
    harness.services.settings = dataclasses.replace(harness.services.settings, **overrides)


# -- GET / ----------------------------------------------------------------------------------


async def test_root_describes_the_service(harness: Harness, prefix: str) -> None:
    harness.client.prefix = prefix
    response = await harness.client.get("/", headers={"Accept-Language": "fr-FR, en;q=0.5"})
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "mozilla-loop-server"
    assert isinstance(body["description"], str) and body["description"]
    assert body["version"] == dockerflow.version_info()["version"]
    assert isinstance(body["homepage"], str)
    assert body["endpoint"] == "http://localhost:5000"
    assert body["fakeTokBox"] is True
    assert body["fxaOAuth"] is False
    assert body["i18n"] == {"defaultLang": "en-US", "lang": "fr-FR"}


async def test_root_without_accept_language_has_no_lang(harness: Harness) -> None:
    response = await harness.client.get("/")
    assert response.json()["i18n"] == {"defaultLang": "en-US"}


async def test_root_endpoint_follows_host_and_protocol(harness: Harness) -> None:
    configure(harness, protocol="https")
    response = await harness.client.get("/", headers={"Host": "loop.example.com"})
    assert response.json()["endpoint"] == "https://loop.example.com"


async def test_root_version_can_be_hidden(harness: Harness) -> None:
    configure(harness, display_version=False)
    assert "version" not in (await harness.client.get("/")).json()


async def test_root_reports_a_real_media_provider(harness: Harness) -> None:
    configure(harness, media=MediaSettings(provider="tokbox"))
    assert (await harness.client.get("/")).json()["fakeTokBox"] is False


# -- heartbeats -----------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def reachable_push_servers(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The push check calls the real push servers; tests stay offline (tests that need a
    failing push check patch it again)."""
    if "harness" not in request.fixturenames:
        return
    harness: Harness = request.getfixturevalue("harness")

    async def ping() -> bool:
        return True

    monkeypatch.setattr(harness.services.push, "ping", ping)


async def test_heartbeat_all_healthy(harness: Harness, prefix: str) -> None:
    harness.client.prefix = prefix
    response = await harness.client.get("/__heartbeat__")
    assert response.status_code == 200
    assert response.json() == {
        "storage": True,
        "provider": True,
        "push": True,
        "fxaVerifier": True,
    }
    assert "retry-after" not in response.headers


async def test_heartbeat_reports_a_failing_storage(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def ping(*, now: float) -> bool:
        return False

    monkeypatch.setattr(harness.services.storage, "ping", ping)
    response = await harness.client.get("/__heartbeat__")
    assert response.status_code == 503
    assert response.json()["storage"] is False
    assert response.json()["provider"] is True
    assert response.headers["retry-after"] == "30"


async def test_heartbeat_reports_a_failing_provider_with_its_reason(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def ping() -> str:
        return "Error: The request failed: Error: blah"

    monkeypatch.setattr(harness.services.media, "ping", ping)
    response = await harness.client.get("/__heartbeat__")
    assert response.status_code == 503
    assert response.json() == {
        "storage": True,
        "provider": False,
        "push": True,
        "fxaVerifier": True,
        "message": "TokBox Error: The request failed: Error: blah",
    }


async def test_heartbeat_times_slow_checks_out_concurrently(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(harness, heartbeat_timeout=100)

    async def hang(*args: Any, **kwargs: Any) -> Any:
        await asyncio.Event().wait()  # never set: only the heartbeat's time limit ends it

    monkeypatch.setattr(harness.services.push, "ping", hang)
    monkeypatch.setattr(harness.services.media, "ping", hang)
    loop = asyncio.get_running_loop()
    started = loop.time()
    response = await harness.client.get("/__heartbeat__")
    assert loop.time() - started < 1
    assert response.status_code == 503
    body = response.json()
    assert (body["storage"], body["provider"], body["push"]) == (True, False, False)
    assert body["message"].startswith("TokBox ")


async def test_heartbeat_survives_a_raising_check(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def boom() -> bool:
        raise RuntimeError("unexpected")

    monkeypatch.setattr(harness.services.push, "ping", boom)
    response = await harness.client.get("/__heartbeat__")
    assert response.status_code == 503
    assert response.json()["push"] is False


async def test_lbheartbeat(harness: Harness, prefix: str) -> None:
    harness.client.prefix = prefix
    response = await harness.client.get("/__lbheartbeat__")
    assert response.status_code == 200
    assert response.json() == {}


async def test_version(harness: Harness, prefix: str) -> None:
    harness.client.prefix = prefix
    response = await harness.client.get("/__version__")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"source", "version", "commit", "build"}
    assert all(isinstance(value, str) for value in body.values())
    assert body["version"]


def test_version_json_wins(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    info = {"source": "https://example.com/loop", "version": "9.9", "commit": "abc", "build": "7"}
    (tmp_path / "version.json").write_text(json.dumps(info))
    monkeypatch.chdir(tmp_path)
    dockerflow.version_info.cache_clear()
    try:
        assert dockerflow.version_info() == info
    finally:
        dockerflow.version_info.cache_clear()


# -- /api-specs, /push-server-config --------------------------------------------------------


async def test_api_specs_is_a_valid_videur_profile(harness: Harness, prefix: str) -> None:
    harness.client.prefix = prefix
    response = await harness.client.get("/api-specs")
    assert response.status_code == 200
    service = response.json()["service"]
    assert service["location"] == "http://localhost:5000"
    assert service["version"] == dockerflow.version_info()["version"]
    resources = service["resources"]
    assert resources["regexp:/rooms/[a-zA-Z0-9_-]{11}"].keys() == {
        "GET",
        "POST",
        "PATCH",
        "DELETE",
    }
    assert resources["regexp:/calls/[a-zA-Z0-9_-]{11}"] == {"POST": {}}
    assert resources["/registration"].keys() == {"POST", "DELETE"}
    rates = resources["/call-url"]["POST"]["limits"]["rates"]
    assert rates == [
        {"seconds": 60, "hits": 60, "match": "header:Authorization AND header:User-Agent"}
    ]
    for path in ("/", "/__heartbeat__", "/account", "/calls", "/push-server-config"):
        assert path in resources


async def test_api_specs_follows_the_configuration(harness: Harness) -> None:
    configure(
        harness,
        protocol="https",
        public_server_address="loop.example.com",
        rooms=RoomsSettings(token_size=12),
        call_urls=CallUrlsSettings(token_size=3),
    )
    service = (await harness.client.get("/api-specs")).json()["service"]
    assert service["location"] == "https://loop.example.com"
    assert "regexp:/rooms/[a-zA-Z0-9_-]{16}" in service["resources"]
    assert "regexp:/calls/[a-zA-Z0-9_-]{4}" in service["resources"]


async def test_push_server_config_picks_a_configured_server(harness: Harness, prefix: str) -> None:
    harness.client.prefix = prefix
    uris = ["wss://push1.example.com/", "wss://push2.example.com/"]
    configure(harness, push_server_uris=uris)
    seen = set()
    for _ in range(30):
        response = await harness.client.get("/push-server-config")
        assert response.status_code == 200
        body = response.json()
        assert set(body) <= {"pushServerURI", "vapidPublicKey"}
        seen.add(body["pushServerURI"])
    assert seen == set(uris)


# -- POST /event ----------------------------------------------------------------------------

EVENT = {"event": "loop", "action": "open", "label": "panel"}


async def test_event_checks_parameters_before_authentication(
    harness: Harness, prefix: str
) -> None:
    harness.client.prefix = prefix
    response = await harness.client.post("/event", json={})
    assert_error(response, 400, 108, "Missing: event, action, label")
    response = await harness.client.post("/event", json={"event": "x", "action": None})
    assert_error(response, 400, 108, "Missing: label")


async def test_event_accept_gate(harness: Harness) -> None:
    response = await harness.client.post("/event", json=EVENT, headers={"Accept": "text/html"})
    assert_error(response, 406, 106)


async def test_event_requires_hawk(harness: Harness) -> None:
    response = await harness.client.post("/event", json=EVENT)
    assert_error(response, 401, 110, "Unauthorized")
    assert response.headers["www-authenticate"] == "Hawk"


async def test_event_without_analytics_is_405(harness: Harness, prefix: str) -> None:
    harness.client.prefix = prefix
    session = await harness.client.register()
    response = await harness.client.post("/event", json=EVENT, hawk=session)
    assert_error(response, 405, 999, "Google Analytics events are not configured for this server.")


async def test_event_with_analytics_is_204_and_sent(harness: Harness) -> None:
    with PushServer() as analytics:
        configure(harness, ga=GaSettings(activated=True, id="UA-123", url=analytics.url("/c")))
        session = await harness.client.register()
        response = await harness.client.post("/event", json=EVENT, hawk=session)
        assert response.status_code == 204
        assert response.content == b""
        await analytics.wait_for(1, timeout=5)
    hit = analytics.requests[0]
    assert (hit.method, hit.path) == ("POST", "/c")
    user = hawk_id_hmac(harness.services.settings, session.id)
    assert hit.form == {
        "v": "1",
        "tid": "UA-123",
        "cid": user,
        "t": "event",
        "ec": "loop",
        "ea": "open",
        "el": "panel",
    }


async def test_a_failing_analytics_service_does_not_fail_the_event(harness: Harness) -> None:
    with PushServer() as analytics:
        analytics.respond_with(500)
        configure(harness, ga=GaSettings(activated=True, id="UA-1", url=analytics.url("/c")))
        session = await harness.client.register()
        response = await harness.client.post("/event", json=EVENT, hawk=session)
        assert response.status_code == 204
        await analytics.wait_for(1, timeout=5)
