"""The application factory: wires settings, storage, media and push into the routes.

Routes reach what they need through :func:`services`, one typed object per process, built
at start-up (``lifespan``) so per-request code does no set-up work.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount

from loop import errors
from loop.clock import Clock, SystemClock
from loop.config import GENERATED_SECRETS, VAPID_SECRET, Settings
from loop.media import MediaError, MediaProvider
from loop.media import from_settings as media_from_settings
from loop.media.webrtc import WebRTCProvider
from loop.metrics import Metrics, StatsdMetrics
from loop.metrics import from_settings as metrics_from_settings
from loop.push import PushNotifier, vapid
from loop.signalling.hub import Signalling
from loop.storage import BackendError, Storage
from loop.storage import from_url as storage_from_url
from loop.web.middleware import ERRNO_KEY, LoopMiddleware

logger = logging.getLogger("loop")

API_PREFIX = "/v0"


@dataclasses.dataclass(slots=True)
class Services:
    """Everything a request may use; one per process."""

    settings: Settings
    clock: Clock
    storage: Storage
    media: MediaProvider
    push: PushNotifier
    http: httpx.AsyncClient
    """Shared client for outgoing HTTP (verifiers, OAuth, push): one connection pool."""
    metrics: Metrics
    background: set[asyncio.Task[None]] = dataclasses.field(default_factory=set)

    @classmethod
    async def open(
        cls,
        settings: Settings,
        *,
        clock: Clock | None = None,
        storage_backend: Storage | None = None,
        media_provider: MediaProvider | None = None,
    ) -> Services:
        """Open the backends, then fill in secrets that were not configured (generated
        once and kept by the storage, so every process and restart agrees on them)."""
        backend = storage_backend or await storage_from_url(settings.storage_url)
        candidates = {name: secrets.token_hex(size) for name, size in GENERATED_SECRETS.items()}
        candidates[VAPID_SECRET] = vapid.generate_private_key()
        settings = settings.with_secrets(await backend.ensure_secrets(candidates))
        clock = clock or SystemClock()
        http = httpx.AsyncClient(timeout=settings.push.timeout, follow_redirects=False)
        metrics = metrics_from_settings(settings.metrics)
        return cls(
            settings=settings,
            clock=clock,
            storage=backend,
            media=media_provider or media_from_settings(settings),
            push=PushNotifier.from_settings(
                settings, http=http, metrics=metrics, storage=backend, clock=clock
            ),
            http=http,
            metrics=metrics,
        )

    def spawn(self, coroutine: Awaitable[None]) -> None:
        """Run a background job; keep a reference so it is not garbage-collected."""
        task: asyncio.Task[None] = asyncio.ensure_future(coroutine)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def close(self) -> None:
        stats = self.storage.stats
        logger.info(
            "storage.stats",
            extra={"round_trips": stats.round_trips, "commands": stats.commands},
        )
        for task in list(self.background):
            task.cancel()
        await asyncio.gather(*self.background, return_exceptions=True)
        await self.push.close()
        await self.media.close()
        await self.http.aclose()
        await self.storage.close()
        if isinstance(self.metrics, StatsdMetrics):
            self.metrics.close()


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


def api_routes() -> list[BaseRoute]:
    """Every route served both at ``/`` and under ``/v0`` (loop-api.md §1.1)."""
    from loop.routes import accounts, calls, dockerflow, registration, rooms, signalling

    return [
        *dockerflow.routes,
        *registration.routes,
        *accounts.routes,
        *rooms.routes,
        *calls.routes,
        *signalling.routes,
    ]


def root_routes() -> list[BaseRoute]:
    """Routes served only at the root, before the API's: the owner's web client at ``/``
    (for browsers) and the call-progress websocket (loop-api.md §1.1)."""
    from loop.routes import pages, websocket

    return [*pages.home_routes, *websocket.routes]


def page_routes() -> list[BaseRoute]:
    """The room page at ``/{token}`` and the pages' assets, after every API route."""
    from loop.routes import pages

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

    app = Starlette(
        routes=[*root_routes(), *routes, Mount(API_PREFIX, routes=routes), *page_routes()],
        middleware=[
            Middleware(
                LoopMiddleware,
                clock=clock,
                allowed_origins=settings.allowed_origins,
                retry_after=settings.retry_after,
            )
        ],
        exception_handlers=_exception_handlers(settings),
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.max_body_size = settings.max_body_size
    if settings.msisdn.mount:
        from loop.identity import gateway

        gateway.mount(app, settings, clock=clock)
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
    )
    app.state.services = svc
    app.state.signalling = signalling = Signalling(svc.storage, svc.settings.webrtc, svc.clock)
    if isinstance(svc.media, WebRTCProvider):
        svc.media.watch_signalling(signalling.ping)
    if background_jobs:
        from loop import rooms

        svc.spawn(rooms.watch_participant_expiry(svc))
        if isinstance(svc.media, WebRTCProvider):
            svc.spawn(signalling.watch())
    return svc


Handler = Callable[[Request, Any], Awaitable[Response]]


def _exception_handlers(settings: Settings) -> dict[Any, Handler]:
    async def loop_error(request: Request, exc: Any) -> Response:
        request.scope[ERRNO_KEY] = int(exc.errno)
        return errors.error_response(exc)

    async def backend_error(request: Request, exc: Any) -> Response:
        logger.critical("backend failure: %r", exc)
        return await loop_error(request, errors.service_unavailable(settings.retry_after))

    async def http_error(request: Request, exc: Any) -> Response:
        if exc.status_code in (404, 405):
            return await unknown_route(request)
        error = errors.LoopError(exc.status_code, errors.Errno.UNDEFINED, str(exc.detail))
        return await loop_error(request, error)

    async def unknown_route(request: Request) -> Response:
        """Unknown paths (and known paths with another method) outside ``/v0`` are
        redirected under it, query string kept (D14); inside it they are 404."""
        path = request.url.path
        if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
            return await loop_error(request, errors.not_found())
        query = request.url.query
        return RedirectResponse(API_PREFIX + path + (f"?{query}" if query else ""), 307)

    return {
        errors.LoopError: loop_error,
        BackendError: backend_error,
        MediaError: backend_error,
        HTTPException: http_error,
    }
