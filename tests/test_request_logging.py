"""The request summary line (issue 11.7): request id, client address, route template."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route

from loop.clock import SystemClock
from loop.config import ConfigError, LoggingSettings, load_settings
from loop.logging import configure_logging
from loop.web.clients import client_address, parse_networks
from loop.web.middleware import LoopMiddleware


async def greet(request: Request) -> Response:
    logging.getLogger("loop.test").info("inside the route")
    return PlainTextResponse("hi")


async def fail(request: Request) -> Response:
    raise RuntimeError("quoting " + request.path_params["token"])


def make_app(trusted_proxies: list[str] | None = None) -> Starlette:
    routes = [Route("/rooms/{token}", greet), Route("/fail/{token}", fail)]
    return Starlette(
        routes=[*routes, Mount("/v0", routes=routes)],
        middleware=[
            Middleware(
                LoopMiddleware,
                clock=SystemClock(),
                allowed_origins=["http://origin.test"],
                retry_after=30,
                trusted_proxies=trusted_proxies or [],
            )
        ],
    )


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    configure_logging(LoggingSettings(level="INFO", format="json"), stream=stream)
    yield stream
    root.handlers[:] = handlers
    root.setLevel(level)


def entries(stream: io.StringIO, msg: str) -> list[dict[str, Any]]:
    parsed = [json.loads(line)["Fields"] for line in stream.getvalue().splitlines()]
    return [fields for fields in parsed if fields["msg"] == msg]


async def request(
    app: Starlette,
    method: str,
    path: str,
    client: tuple[str, int] = ("203.0.113.9", 1234),
    **kw: Any,
) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=client)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        return await http.request(method, path, **kw)


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/rooms/s3cr3tT0ken?token=s3cr3tT0ken", "/rooms/{token}"),
        ("/v0/rooms/s3cr3tT0ken", "/v0/rooms/{token}"),
        ("/s3cr3tT0ken/elsewhere", "unmatched"),
    ],
)
async def test_the_summary_names_the_route_template_never_the_path(
    log_lines: io.StringIO, path: str, template: str
) -> None:
    await request(make_app(), "GET", path)
    (summary,) = entries(log_lines, "request.summary")
    assert summary["path"] == template
    assert "s3cr3tT0ken" not in log_lines.getvalue()


async def test_a_sane_request_id_is_kept_echoed_and_on_every_line_of_the_request(
    log_lines: io.StringIO,
) -> None:
    response = await request(make_app(), "GET", "/rooms/x", headers={"X-Request-Id": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    (inside,) = entries(log_lines, "inside the route")
    (summary,) = entries(log_lines, "request.summary")
    assert inside["rid"] == summary["rid"] == "abc-123"


@pytest.mark.parametrize(
    "given", [None, "", "a" * 129, "two words", "tab\there", "caf\u00e9", "\x1b[31mred"]
)
async def test_an_absent_or_insane_request_id_is_replaced(
    log_lines: io.StringIO, given: str | None
) -> None:
    headers = {} if given is None else {"X-Request-Id": given.encode("utf-8")}
    response = await request(make_app(), "GET", "/rooms/x", headers=headers)
    rid = response.headers["x-request-id"]
    assert len(rid) == 32 and int(rid, 16) >= 0
    (summary,) = entries(log_lines, "request.summary")
    assert summary["rid"] == rid


async def test_the_longest_sane_request_id_is_kept(log_lines: io.StringIO) -> None:
    given = "~" * 128
    response = await request(make_app(), "GET", "/rooms/x", headers={"X-Request-Id": given})
    assert response.headers["x-request-id"] == given


async def test_preflights_and_failures_echo_the_request_id_too(log_lines: io.StringIO) -> None:
    app = make_app()
    preflight = await request(
        app,
        "OPTIONS",
        "/rooms/x",
        headers={"Origin": "http://origin.test", "X-Request-Id": "pre-1"},
    )
    assert (preflight.status_code, preflight.headers["x-request-id"]) == (204, "pre-1")
    failed = await request(app, "GET", "/fail/s3cr3tT0ken", headers={"X-Request-Id": "err-1"})
    assert (failed.status_code, failed.headers["x-request-id"]) == (500, "err-1")
    (error,) = entries(log_lines, "unexpected error")
    assert (error["rid"], error["error"]) == ("err-1", "RuntimeError")
    assert "s3cr3tT0ken" not in log_lines.getvalue()


async def test_the_summary_has_the_peer_when_no_proxy_is_trusted(log_lines: io.StringIO) -> None:
    forged = {"X-Forwarded-For": "198.51.100.1"}
    await request(make_app(), "GET", "/rooms/x", headers=forged)
    (summary,) = entries(log_lines, "request.summary")
    assert summary["remote"] == "203.0.113.9"


async def test_the_summary_has_the_forwarded_client_behind_a_trusted_proxy(
    log_lines: io.StringIO,
) -> None:
    app = make_app(["10.0.0.0/8"])
    headers = {"X-Forwarded-For": "198.51.100.1, 192.0.2.7, 10.1.1.1"}
    await request(app, "GET", "/rooms/x", client=("10.0.0.2", 80), headers=headers)
    (summary,) = entries(log_lines, "request.summary")
    assert summary["remote"] == "192.0.2.7"


# -- client_address ------------------------------------------------------------------------


def scope(peer: str | None, *forwarded: str) -> dict[str, Any]:
    return {
        "type": "http",
        "client": None if peer is None else (peer, 5000),
        "headers": [(b"x-forwarded-for", value.encode()) for value in forwarded],
    }


TRUSTED = parse_networks(["10.0.0.0/8", "::1", "192.168.1.1"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("203.0.113.9", ["1.2.3.4"], "203.0.113.9"),  # untrusted peer: header ignored
        ("10.0.0.1", [], "10.0.0.1"),  # trusted peer, no header: the peer
        ("10.0.0.1", ["1.2.3.4"], "1.2.3.4"),
        ("10.0.0.1", ["6.6.6.6, 1.2.3.4"], "1.2.3.4"),  # the client forged the left one
        ("10.0.0.1", ["6.6.6.6, 1.2.3.4, 192.168.1.1"], "1.2.3.4"),  # two proxies
        ("10.0.0.1", ["6.6.6.6", "1.2.3.4, 10.2.2.2"], "1.2.3.4"),  # several headers
        ("::1", ["2001:db8::5"], "2001:db8::5"),
        ("10.0.0.1", ["10.9.9.9, 10.8.8.8"], "10.9.9.9"),  # all trusted: the first
        ("10.0.0.1", ["junk, 1.2.3.4, not-an-ip"], "1.2.3.4"),  # junk never reaches a log
        ("10.0.0.1", ["junk"], "10.0.0.1"),
        (None, ["1.2.3.4"], "unknown"),
    ],
)
def test_client_address(peer: str | None, forwarded: list[str], expected: str) -> None:
    assert client_address(scope(peer, *forwarded), TRUSTED) == expected


def test_without_trusted_proxies_the_peer_is_the_client() -> None:
    assert client_address(scope("10.0.0.1", "1.2.3.4"), ()) == "10.0.0.1"


def test_parse_networks_names_the_bad_entry() -> None:
    with pytest.raises(ValueError, match="'10.0.0.300'"):
        parse_networks(["10.0.0.1", "10.0.0.300"])


def test_trusted_proxies_are_checked_at_start_up() -> None:
    settings = load_settings(environ={"LOOP_TRUSTED_PROXIES": '["10.0.0.0/8", "::1"]'})
    assert settings.trusted_proxies == ["10.0.0.0/8", "::1"]
    with pytest.raises(ConfigError, match="trusted_proxies: 'proxy.local'"):
        load_settings(environ={"LOOP_TRUSTED_PROXIES": '["proxy.local"]'})
