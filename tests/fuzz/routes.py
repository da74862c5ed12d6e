"""The HTTP routes of an app, read from its own route table, so the fuzzer follows the app.

A route the fuzzer has no :class:`Endpoint` for fails ``test_routes_covered``: a new
endpoint cannot escape the fuzz run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute

from loop.routes.websocket import ProgressRoute


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """What the fuzzer knows of one route: the body fields the API reads there (good
    values for them come from the fuzzer's table) and what fills ``{token}``/``{path}``."""

    fields: tuple[str, ...] = ()
    token: str | None = None
    """``room``, ``call``, ``asset``, or ``None`` for a path without a parameter."""


@dataclasses.dataclass(frozen=True)
class Target:
    """One (method, path) of the app, with the endpoint description it maps to."""

    method: str
    path: str
    """The template as served, prefix included (``/v0/rooms/{token}``)."""
    endpoint: Endpoint

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"


def http_routes(app: Starlette) -> set[tuple[str, str]]:
    """Every ``(method, path template)`` the app serves over HTTP, mounts flattened;
    ``HEAD`` is left out (Starlette adds it to every ``GET``). A mounted app without a
    route table (static files) is one ``GET <prefix>/{path}``."""
    found: set[tuple[str, str]] = set()
    _walk(app.routes, "", found)
    return found


def _walk(routes: Iterable[BaseRoute], prefix: str, found: set[tuple[str, str]]) -> None:
    for route in routes:
        if isinstance(route, Route):
            found.update((m, prefix + route.path) for m in route.methods or () if m != "HEAD")
        elif isinstance(route, Mount):
            if route.routes:
                _walk(route.routes, prefix + route.path, found)
            else:
                found.add(("GET", prefix + route.path + "/{path}"))
        elif not isinstance(route, WebSocketRoute | ProgressRoute):
            raise TypeError(f"the fuzzer does not know routes like {route!r}")


def targets(
    app: Starlette, endpoints: Mapping[tuple[str, str], Endpoint], prefixes: Iterable[str]
) -> list[Target]:
    """The app's routes, each with its endpoint (looked up without the API prefix);
    :class:`KeyError` names a route the table lacks."""
    found = []
    for method, path in sorted(http_routes(app)):
        found.append(Target(method, path, endpoints[(method, unprefixed(path, prefixes))]))
    return found


def missing(
    app: Starlette, endpoints: Mapping[tuple[str, str], Endpoint], prefixes: Iterable[str]
) -> set[tuple[str, str]]:
    """Routes of the app without an endpoint description."""
    return {
        (method, path)
        for method, path in http_routes(app)
        if (method, unprefixed(path, prefixes)) not in endpoints
    }


def unprefixed(path: str, prefixes: Iterable[str]) -> str:
    for prefix in prefixes:
        if prefix and (path == prefix or path.startswith(prefix + "/")):
            return path[len(prefix) :] or "/"
    return path
