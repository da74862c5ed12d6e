"""The indexed router (loop/web/routing.py) picks what Starlette's own loop would pick."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from loop.web.routing import IndexedRouter
from loop.web.stack import LeanStarlette


def answering(name: str) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint whose answer names it (and its path parameters)."""

    async def endpoint(request: Request) -> Response:
        return PlainTextResponse(f"{name} {dict(request.path_params)}")

    return endpoint


def routes() -> list[BaseRoute]:
    return [
        Route("/", answering("home"), methods=["GET"]),
        Route("/rooms", answering("create"), methods=["POST"]),
        Route("/rooms", answering("list"), methods=["GET"]),
        Route("/rooms/{token}", answering("get"), methods=["GET"]),
        Route("/rooms/{token}", answering("act"), methods=["POST"]),
        Route("/anything", answering("any method")),
        Mount("/v0", app=IndexedRouter([Route("/rooms", answering("v0 list"), methods=["GET"])])),
        Route("/{token}", answering("page"), methods=["GET"]),
    ]


REQUESTS = [
    ("GET", "/"),
    ("POST", "/rooms"),
    ("GET", "/rooms"),
    ("PATCH", "/rooms"),
    ("GET", "/rooms/abc"),
    ("POST", "/rooms/abc"),
    ("DELETE", "/rooms/abc"),
    ("GET", "/rooms/"),
    ("GET", "/rooms/abc/extra"),
    ("PUT", "/anything"),
    ("GET", "/v0/rooms"),
    ("POST", "/v0/rooms"),
    ("GET", "/v0"),
    ("GET", "/abc"),
    ("GET", "/unknown/path"),
    ("FOO", "/rooms"),
    ("HEAD", "/rooms/abc"),
]


async def answers(app: Starlette) -> list[tuple[int, str, str]]:
    transport = httpx.ASGITransport(app=app)
    found = []
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for method, path in REQUESTS:
            response = await client.request(method, path)
            found.append(
                (response.status_code, response.headers.get("location", ""), response.text)
            )
    return found


async def test_it_answers_every_request_as_starlettes_router_does() -> None:
    indexed = await answers(LeanStarlette(routes=routes()))
    plain = await answers(Starlette(routes=routes()))
    assert indexed == plain
    assert indexed[4] == (200, "", "get {'token': 'abc'}")
    assert indexed[13] == (200, "", "page {'token': 'abc'}")


async def test_routes_added_later_are_found() -> None:
    app = LeanStarlette(routes=routes())
    assert (await answers(app))[14][0] == 404
    app.router.routes.insert(0, Route("/unknown/path", answering("late"), methods=["GET"]))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/unknown/path")).text == "late {}"


@pytest.mark.parametrize("method", ["GET", "BREW"])
async def test_hostile_paths_and_methods_do_not_grow_the_index(method: str) -> None:
    router = IndexedRouter(routes())
    app = Starlette()
    app.router = router
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for n in range(200):
            await client.request(method, f"/segment-{n}/x")
    literal_segments = {"", "rooms", "anything", "v0"}
    assert len(router._index) <= (len(literal_segments) + 1) * 7
