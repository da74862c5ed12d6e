"""General HTTP behaviour (loop-api.md §1-§2; decisions D4, D14, D25, D27), and Hawk through
a real server the way the original load-test client spoke it (requests + requests-hawk)."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import uvicorn
from requests_hawk import HawkAuth  # type: ignore[import-untyped]

from loop.app import create_app
from loop.routes import dockerflow
from loop.storage import BackendError
from loop.web.stack import LeanStarlette
from tests.routes.conftest import Harness
from tests.support import app as app_support
from tests.support.client import assert_error
from tests.support.ports import bound_socket, port_of
from tests.support.waiting import eventually_blocking

ALLOWED = "http://localhost:3000"
EVENT = {"event": "loop", "action": "open", "label": "panel"}


# -- unknown routes (§1.1, D14) -------------------------------------------------------------


async def test_unknown_path_redirects_under_v0_keeping_the_query(harness: Harness) -> None:
    response = await harness.client.get("/nowhere?a=1&b=%20")
    assert response.status_code == 307
    assert response.headers["location"] == "/v0/nowhere?a=1&b=%20"


async def test_unknown_path_under_v0_is_404_json(harness: Harness) -> None:
    response = await harness.client.get("/v0/nowhere")
    assert_error(response, 404, 999, "Resource not found.")
    assert response.json() == {"code": 404, "errno": 999, "error": "Resource not found."}


async def test_known_path_with_another_method(harness: Harness) -> None:
    response = await harness.client.put("/registration")
    assert response.status_code == 307
    assert response.headers["location"] == "/v0/registration"
    assert_error(await harness.client.put("/v0/registration"), 404, 999, "Resource not found.")


# -- CORS (§1.4, D27) -----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/v0/nowhere", "/registration"])
async def test_cors_allowed_origin_is_reflected(harness: Harness, path: str) -> None:
    method = "DELETE" if path == "/registration" else "GET"
    response = await harness.client.request(method, path, headers={"Origin": ALLOWED})
    assert response.status_code in (200, 401, 404)
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert response.headers["vary"] == "Origin"
    assert response.headers["access-control-expose-headers"] == "Hawk-Session-Token,Date"
    assert "access-control-allow-credentials" not in response.headers


async def test_cors_disallowed_origin_is_processed_without_cors(harness: Harness) -> None:
    response = await harness.client.get("/", headers={"Origin": "http://evil.example.com"})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


async def test_cors_on_redirects(harness: Harness) -> None:
    response = await harness.client.get("/nowhere", headers={"Origin": ALLOWED})
    assert response.status_code == 307
    assert response.headers["access-control-allow-origin"] == ALLOWED


@pytest.mark.parametrize("path", ["/rooms", "/v0/registration", "/v0/nowhere"])
async def test_cors_preflight(harness: Harness, path: str) -> None:
    response = await harness.client.request(
        "OPTIONS",
        path,
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "Content-Type,Authorization",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ALLOWED
    methods = response.headers["access-control-allow-methods"].split(",")
    assert {"GET", "POST", "PATCH", "DELETE"} <= set(methods)
    assert response.headers["access-control-allow-headers"] == "Content-Type,Authorization"
    assert "date" in response.headers


async def test_cors_preflight_from_a_disallowed_origin(harness: Harness) -> None:
    response = await harness.client.request(
        "OPTIONS",
        "/rooms",
        headers={"Origin": "http://evil.example.com", "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 204
    assert "access-control-allow-origin" not in response.headers


# -- headers added by the server (§1.3, D25) ------------------------------------------------


async def _responses(harness: Harness) -> dict[int, Any]:
    """One response of each interesting status."""
    client = harness.client
    session = await client.register()
    return {
        200: await client.get("/"),
        204: await client.delete("/registration", hawk=session),
        307: await client.get("/nowhere"),
        400: await client.post("/event", json={}),
        401: await client.delete("/registration"),
        404: await client.get("/v0/nowhere"),
    }


async def test_date_on_every_response(harness: Harness) -> None:
    for status, response in (await _responses(harness)).items():
        assert response.status_code == status
        date = parsedate_to_datetime(response.headers["date"])
        assert abs(date.timestamp() - harness.clock.now()) < 2


async def test_timestamp_only_on_200_and_401(harness: Harness) -> None:
    for status, response in (await _responses(harness)).items():
        if status in (200, 401):
            assert response.headers["timestamp"] == str(int(harness.clock.now()))
        else:
            assert "timestamp" not in response.headers, status


async def test_backend_failure_is_503_with_retry_after(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def failing(*args: Any, **kwargs: Any) -> None:
        raise BackendError(message="read-only")

    monkeypatch.setattr(harness.services.storage, "create_session", failing)
    response = await harness.client.post("/registration", json={})
    assert_error(response, 503, 201, "Service Unavailable")
    assert response.headers["retry-after"] == "30"
    assert "timestamp" not in response.headers


# -- bodies (§1.2, D4) ----------------------------------------------------------------------


async def test_oversized_body_with_content_length_is_413(harness: Harness) -> None:
    body = b'{"event": "' + b"x" * 100_001 + b'"}'
    response = await harness.client.post(
        "/event", content=body, headers={"Content-Type": "application/json"}
    )
    assert_error(response, 413, 113, "Request body is larger than 100000 bytes.")


async def test_oversized_chunked_body_is_413(harness: Harness) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(200):
            yield b"x" * 1000

    response = await harness.client.http.post(
        "/event", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert_error(response, 413, 113)


@pytest.mark.parametrize(
    "body", [b"{nope", b"[1, 2]", b'"text"', b'{"event": "\xff\xfe"}'], ids=repr
)
async def test_malformed_json_is_400_errno_106(harness: Harness, body: bytes) -> None:
    response = await harness.client.post(
        "/event", content=body, headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400, 106, "Invalid JSON in request body.")


async def test_unexpected_failure_is_500_without_internals(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: Any) -> Any:
        raise RuntimeError("secret-internal-detail")

    monkeypatch.setattr(dockerflow, "videur_profile", explode)
    response = await harness.client.get("/api-specs", headers={"Origin": ALLOWED})
    assert_error(response, 500, 999, "Internal Server Error")
    assert b"secret" not in response.content and b"Traceback" not in response.content
    assert response.headers["access-control-allow-origin"] == ALLOWED


def test_the_app_refuses_a_catch_all_handler_its_middleware_would_shadow() -> None:
    """Starlette's outermost 500 layer is dropped (loop/web/stack.py): a handler for
    ``Exception`` would never run, so building the stack refuses it."""

    async def handler(request: Any, exc: Exception) -> Any:
        raise AssertionError("never called")

    app = LeanStarlette(exception_handlers={Exception: handler})
    with pytest.raises(TypeError, match="answers 500s"):
        app.build_middleware_stack()


@pytest.mark.parametrize("path", ["/__lbheartbeat__", "/v0/__lbheartbeat__"])
async def test_the_api_answers_at_the_root_and_under_v0(harness: Harness, path: str) -> None:
    response = await harness.client.get(path)
    assert (response.status_code, response.json()) == (200, {})


@pytest.mark.parametrize(
    "headers",
    [
        [(b"Authorization", b"Hawk " + b"x" * 50_000)],
        [(b"Authorization", b"\xff\xfe\xfd")],
        [(b"Authorization", b"Basic \xff\xfe")],
        [(b"Authorization", b"Hawk")],
        [(b"Authorization", b'Hawk id="", ts="", nonce="", mac=""')],
        [(b"Accept", b"\xff;q=abc")],
        [(b"Accept-Language", b"\xe9\xe9")],
        [(b"Content-Type", b"\xff/\xff")],
        [(b"Content-Length", b"12abc")],
        [(b"Origin", b"http://\xff")],
        [(b"Host", b"\xff\xfe")],
    ],
    ids=lambda headers: headers[0][0].decode(),
)
@pytest.mark.parametrize(("method", "path"), [("POST", "/registration"), ("GET", "/")])
async def test_hostile_headers_never_cause_a_500(
    harness: Harness, headers: list[tuple[bytes, bytes]], method: str, path: str
) -> None:
    response = await harness.client.http.request(method, path, headers=headers, content=b"{}")
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert isinstance(response.json()["error"], str)


# -- a real server, a real Hawk client ------------------------------------------------------


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[str]:
    """uvicorn serving the app on a free port (sqlite backend), in a thread."""
    settings = app_support.make_settings(f"sqlite:///{tmp_path / 'loop.db'}")
    app = create_app(settings, background_jobs=False)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    with bound_socket() as sock:  # our port from the start: no other run can take it
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()

        def started() -> bool:
            assert thread.is_alive(), "uvicorn stopped during start-up"
            return server.started

        eventually_blocking(started, what="uvicorn start")
        try:
            yield f"127.0.0.1:{port_of(sock)}"
        finally:
            server.should_exit = True
            thread.join(10)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_requests_hawk_client_against_a_real_server(live_server: str, host: str) -> None:
    port = live_server.split(":")[1]
    base = f"http://{host}:{port}"
    with requests.Session() as http:
        created = http.post(base + "/registration", json={})
        assert created.status_code == 200, created.text
        token = created.headers["Hawk-Session-Token"]
        auth = HawkAuth(hawk_session=token, server_url=base)
        body = {"simplePushURLs": {"rooms": "https://push.example.com/r"}}
        for path in ("/registration", "/v0/registration?simplePushURL=http://push.example.com/c"):
            response = http.post(base + path, json=body, auth=auth)
            assert response.status_code == 200, response.text
            assert response.headers["Server-Authorization"].startswith('Hawk mac="')
        bodiless = HawkAuth(hawk_session=token, server_url=base, always_hash_content=False)
        deleted = http.delete(base + "/v0/registration", auth=bodiless)
        assert deleted.status_code == 204, deleted.text


def test_hawk_signed_for_another_port_is_refused_by_a_real_server(live_server: str) -> None:
    with requests.Session() as http:
        token = http.post(f"http://{live_server}/registration").headers["Hawk-Session-Token"]
        auth = HawkAuth(
            hawk_session=token, server_url="http://127.0.0.1:1", always_hash_content=False
        )
        response = http.delete(f"http://{live_server}/registration", auth=auth)
    assert response.status_code == 401
    assert response.json() == {"code": 401, "errno": 110, "error": "Bad mac"}
