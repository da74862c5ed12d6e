"""The MSISDN gateway as its own ASGI app (decisions D20), or mounted into Loop's.

:func:`create_gateway_app` builds the app; its services
(:class:`~loop.msisdn.services.Gateway`) are opened in the lifespan, or by
:func:`open_gateway` (tests, and :func:`mount_gateway`, since Starlette does not run a
mounted app's lifespan). The top of the gateway's layers: it imports its routes.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from loop.clock import Clock, SystemClock
from loop.jsonutil import dumps
from loop.msisdn import errors
from loop.msisdn.config import MsisdnSettings
from loop.msisdn.routes import flow, public
from loop.msisdn.routes.common import THROUGH_PREFIX
from loop.msisdn.services import Gateway as Gateway
from loop.msisdn.services import gateway as gateway
from loop.msisdn.services import open_services
from loop.msisdn.sms import SmsSender
from loop.msisdn.storage import GatewayStorage
from loop.web.failures import Handler, exception_handlers
from loop.web.middleware import LoopMiddleware

DEFAULT_MOUNT_PREFIX = "/msisdn"


def gateway_routes(settings: MsisdnSettings) -> list[BaseRoute]:
    """Every route at ``/`` and, when set, under ``api_prefix`` too (§1.1)."""
    base = [*public.routes, *flow.routes]
    if not settings.api_prefix:
        return base
    return [*base, Mount(settings.api_prefix, routes=base, middleware=[Middleware(ThroughPrefix)])]


class ThroughPrefix:
    """Marks a request that came in under ``api_prefix``: Starlette's ``Mount`` appends the
    prefix to ``root_path``, and the URLs the gateway hands out must not carry it twice."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app({**scope, THROUGH_PREFIX: True}, receive, send)


def create_gateway_app(
    settings: MsisdnSettings,
    *,
    clock: Clock | None = None,
    storage: GatewayStorage | None = None,
    sms: Callable[[httpx.AsyncClient], SmsSender] | None = None,
    standalone: bool = True,
) -> Starlette:
    """The gateway app. ``standalone=False`` leaves out the CORS/Date/summary middleware,
    for an app mounted inside Loop's (whose middleware already does it)."""
    clock = clock or SystemClock()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        services = await open_gateway(app, clock=clock, storage=storage, sms=sms)
        try:
            yield
        finally:
            await services.close()

    middleware = [
        Middleware(
            LoopMiddleware,
            clock=clock,
            allowed_origins=settings.allowed_origins,
            retry_after=settings.retry_after,
            trusted_proxies=settings.trusted_proxies,
        )
    ]
    app = Starlette(
        routes=gateway_routes(settings),
        middleware=middleware if standalone else [],
        exception_handlers=_exception_handlers(settings),
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.max_body_size = settings.request_max_size
    return app


async def open_gateway(
    app: Starlette,
    *,
    clock: Clock | None = None,
    storage: GatewayStorage | None = None,
    sms: Callable[[httpx.AsyncClient], SmsSender] | None = None,
) -> Gateway:
    """Open the app's services (what the lifespan does)."""
    services = await open_services(
        app.state.settings, clock=clock or SystemClock(), storage=storage, sms=sms
    )
    app.state.gateway = services
    return services


def mount_gateway(
    app: Starlette, settings: MsisdnSettings, *, prefix: str = DEFAULT_MOUNT_PREFIX
) -> Starlette:
    """Serve the gateway under ``prefix`` in ``app`` (one-process deployment, D20).

    Call before ``app`` starts: the gateway's services are opened and closed within the
    host app's lifespan. Returns the mounted gateway app.
    """
    clock: Clock | None = getattr(app.state, "clock", None)
    mounted = create_gateway_app(settings, clock=clock, standalone=False)
    app.router.routes.append(Mount(prefix, app=mounted))
    host_lifespan = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(host: Any) -> AsyncIterator[Any]:
        async with host_lifespan(host) as state:
            services = await open_gateway(mounted, clock=clock)
            try:
                yield state
            finally:
                await services.close()

    app.router.lifespan_context = lifespan
    return mounted


def _exception_handlers(settings: MsisdnSettings) -> dict[Any, Handler]:
    async def http_error(request: Request, exc: Any) -> Response:
        """Unknown route → 404 ``{"code": 404}``; wrong method → 405 likewise (§1.1)."""
        body = dumps({"code": exc.status_code})
        return Response(body, exc.status_code, media_type="application/json")

    return exception_handlers(
        retry_after=settings.retry_after,
        unavailable=errors.service_unavailable,
        http_error=http_error,
        catch_all=True,
    )
