"""The application factory: wires settings, storage, media and push into the routes.

The top layer: it imports every route module, the services container
(:mod:`loop.services`) and the error-handler registry; nothing imports it but the CLI and
the tests. Routes reach what they need through :func:`loop.services.services`, one typed
object per process, built at start-up (``lifespan``) so per-request code does no set-up
work.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount

from loop import errors, rooms
from loop.clock import Clock, SystemClock
from loop.config import Settings
from loop.media import MediaProvider
from loop.media.webrtc import WebRTCProvider
from loop.msisdn import mount as gateway_mount
from loop.prometheus import MetricsListener, PrometheusMetrics
from loop.routes import (
    accounts,
    calls,
    dockerflow,
    metrics,
    pages,
    registration,
    signalling,
    websocket,
)
from loop.routes import openapi as openapi_routes
from loop.routes import rooms as room_routes
from loop.services import Services as Services
from loop.services import services as services
from loop.signalling.hub import Signalling
from loop.storage import Storage
from loop.web.failures import Handler, answer, exception_handlers
from loop.web.middleware import LoopMiddleware
from loop.web.routing import IndexedRouter
from loop.web.stack import LeanStarlette

API_PREFIX = "/v0"


def api_routes() -> list[BaseRoute]:
    """Every route served both at ``/`` and under ``/v0`` (loop-api.md §1.1).

    Busiest first: the router tries routes in order (a regular expression each), and no
    two of these share a path and method, so the order only decides how many it tries."""
    return [
        *room_routes.routes,
        *registration.routes,
        *dockerflow.routes,
        *calls.routes,
        *accounts.routes,
        *openapi_routes.routes,
        *signalling.routes,
    ]


def root_routes() -> list[BaseRoute]:
    """Routes served only at the root, before the API's: the owner's web client at ``/``
    (for browsers, where the API has its own ``GET /``) and ``/metrics``."""
    return [*pages.home_routes, *metrics.routes]


def all_routes(api: list[BaseRoute]) -> list[BaseRoute]:
    """Every route, in the order the router tries them (a regular expression each, until
    one matches). The call-progress websocket first (its configured path might be under
    ``/v0``, and it declines any HTTP request at once); then the ``/v0`` mount, which takes
    what Firefox sends (its ``loop.server`` ends in ``/v0``) with one match instead of
    failing every root route first; then the root's own routes, the API again at the root,
    and the pages, whose ``/{token}`` would take any single-segment path."""
    return [
        *websocket.routes,
        Mount(API_PREFIX, app=IndexedRouter(api)),
        *root_routes(),
        *api,
        *page_routes(),
    ]


def page_routes() -> list[BaseRoute]:
    """The room page at ``/{token}`` and the pages' assets, after every API route."""
    return list(pages.routes)


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    storage_backend: Storage | None = None,
    media_provider: MediaProvider | None = None,
    background_jobs: bool = True,
) -> Starlette:
    """Build the ASGI app. Backends are opened in the lifespan, or by :func:`open_app`."""
    clock = clock or SystemClock()
    routes = api_routes()
    prometheus = PrometheusMetrics() if settings.metrics.prometheus else None

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        svc = await open_app(
            app,
            clock=clock,
            storage_backend=storage_backend,
            media_provider=media_provider,
            background_jobs=background_jobs,
        )
        try:
            yield
        finally:
            await svc.close()

    app = LeanStarlette(
        routes=all_routes(routes),
        middleware=[
            Middleware(
                LoopMiddleware,
                clock=clock,
                allowed_origins=settings.allowed_origins,
                retry_after=settings.retry_after,
                trusted_proxies=settings.trusted_proxies,
                prometheus=prometheus,
            )
        ],
        exception_handlers=_exception_handlers(settings),
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.prometheus = prometheus
    app.state.max_body_size = settings.max_body_size
    app.state.openapi = openapi_routes.describe(
        app.routes, settings
    )  # before mounting the gateway
    if settings.msisdn.mount:
        gateway_mount.mount(app, settings, clock=clock)
    return app


async def open_app(
    app: Starlette,
    *,
    clock: Clock | None = None,
    storage_backend: Storage | None = None,
    media_provider: MediaProvider | None = None,
    background_jobs: bool = True,
) -> Services:
    """Open the app's services (what the lifespan does; tests without lifespan call it)."""
    svc = await Services.open(
        app.state.settings,
        clock=clock,
        storage_backend=storage_backend,
        media_provider=media_provider,
        prometheus=app.state.prometheus,
    )
    if svc.prometheus is not None and svc.settings.metrics.port:
        metrics = svc.settings.metrics
        svc.metrics_listener = MetricsListener(svc.prometheus, metrics.host, metrics.port)
    app.state.services = svc
    app.state.signalling = signalling = Signalling(svc)
    if isinstance(svc.media, WebRTCProvider):
        svc.media.watch_signalling(signalling.ping)
    if background_jobs:
        svc.spawn(rooms.watch_participant_expiry(svc))
        svc.spawn(svc.watch_secrets())
        svc.spawn(svc.watch_figures())
        if isinstance(svc.media, WebRTCProvider):
            svc.spawn(signalling.watch())
    return svc


def _exception_handlers(settings: Settings) -> dict[Any, Handler]:
    async def http_error(request: Request, exc: Any) -> Response:
        """Unknown paths (and known paths with another method) outside ``/v0`` are
        redirected under it, query string kept (D14); inside it they are 404; any other
        Starlette HTTP error keeps its status, errno 999."""
        if exc.status_code not in (404, 405):
            error = errors.LoopError(exc.status_code, errors.Errno.UNDEFINED, str(exc.detail))
            return await answer(request, error)
        path = request.url.path
        if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
            return await answer(request, errors.not_found())
        query = request.url.query
        return RedirectResponse(API_PREFIX + path + (f"?{query}" if query else ""), 307)

    return exception_handlers(
        retry_after=settings.retry_after,
        unavailable=errors.service_unavailable,
        http_error=http_error,
    )
