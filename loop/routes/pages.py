"""The browser pages: the room page a link opens, and the owner's web client at ``/``.

Both are static files of the package (``loop/static``); the server only decides *whether*
to answer with a page. A request that prefers HTML is a person's browser; anything else is an
API client and keeps the API's exact answers (the JSON root, the 307 of unknown paths), so
sharing ``/`` and ``/{token}`` with the API changes nothing for Firefox.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from loop.config import Settings
from loop.routes import dockerflow
from loop.services import services

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
ROOM_TOKEN = re.compile(r"[A-Za-z0-9_-]+")
"""The token alphabet the original link-clicker page accepted (client-usage.md §3.1)."""


def prefers_html(request: Request) -> bool:
    """True when ``Accept`` names ``text/html`` with a non-zero weight, as browsers do when
    navigating; API clients send no ``Accept`` or ``*/*`` and never get a page."""
    for item in request.headers.get("accept", "").split(","):
        media_type, *params = (part.strip() for part in item.split(";"))
        if media_type.lower() != "text/html":
            continue
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    return float(value) > 0
                except ValueError:
                    return False
        return True
    return False


async def owner_client(request: Request) -> Response:
    """``GET /``: the owner's web client for browsers, the service information otherwise."""
    if not prefers_html(request):
        return await dockerflow.root(request)
    return _page("owner.html", services(request).settings)


async def room_page(request: Request) -> Response:
    """``GET /{token}``: the room page for browsers. Anything else falls through to the
    unknown-path handling (307 to ``/v0/...``) exactly as before the pages existed."""
    if not prefers_html(request) or not ROOM_TOKEN.fullmatch(request.path_params["token"]):
        raise HTTPException(404)
    return _page("room.html", services(request).settings)


def _page(name: str, settings: Settings) -> Response:
    return HTMLResponse(_read(name), headers=_security_headers(settings.server_origin))


@functools.cache
def _read(name: str) -> str:
    return (STATIC_DIR / name).read_text("utf-8")


@functools.cache
def _security_headers(origin: str) -> dict[str, str]:
    """Only this origin's scripts and styles, no inline code, no framing; media may come
    from ``blob:``/``mediastream:`` (camera, remote streams); the API and the signalling
    socket may also live at the public address (a TLS terminator in front)."""
    socket_origin = origin.replace("http", "ws", 1)
    policy = "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data: blob:",
            "media-src 'self' blob: mediastream:",
            f"connect-src 'self' {origin} {socket_origin}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )
    return {
        "content-security-policy": policy,
        "referrer-policy": "no-referrer",
        "x-content-type-options": "nosniff",
        "cache-control": "no-cache",
        "permissions-policy": "camera=(self), microphone=(self), display-capture=(self)",
    }


home_routes: list[BaseRoute] = [Route("/", owner_client, methods=["GET"])]
"""Registered before the API's ``/`` so browsers get the owner client there."""

routes: list[BaseRoute] = [
    Mount("/assets", app=StaticFiles(directory=STATIC_DIR), name="assets"),
    Route("/{token}", room_page, methods=["GET"]),
]
"""Registered after every API route: ``/{token}`` must never shadow one."""
