"""The MSISDN gateway as its own ASGI app (decisions D20), or mounted into Loop's.

:func:`create_gateway_app` builds the app; its services (:class:`Gateway`) are opened in
the lifespan, or by :func:`open_gateway` (tests, and :func:`mount_gateway`, since
Starlette does not run a mounted app's lifespan).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount

from loop import browserid
from loop import errors as loop_errors
from loop.clock import Clock, SystemClock
from loop.jsonutil import dumps
from loop.msisdn import errors
from loop.msisdn.config import MsisdnSettings
from loop.msisdn.sms import SmsSender
from loop.msisdn.sms import from_settings as sms_from_settings
from loop.msisdn.storage import BackendError, GatewayStorage
from loop.msisdn.storage import from_url as storage_from_url
from loop.web.middleware import ERRNO_KEY, LoopMiddleware

logger = logging.getLogger("loop.msisdn")

GENERATED_SECRETS = ("hawk_id_secret", "msisdn_id_secret")
DEFAULT_MOUNT_PREFIX = "/msisdn"


@dataclasses.dataclass(slots=True)
class Gateway:
    """Everything a request may use; one per process."""

    settings: MsisdnSettings
    clock: Clock
    storage: GatewayStorage
    sms: SmsSender
    signing_key: browserid.SecretKey
    http: httpx.AsyncClient

    async def close(self) -> None:
        await self.http.aclose()
        await self.storage.close()


def gateway(request: Request) -> Gateway:
    found: Gateway = request.app.state.gateway
    return found


async def open_services(
    settings: MsisdnSettings,
    *,
    clock: Clock,
    storage: GatewayStorage | None = None,
    sms: Callable[[httpx.AsyncClient], SmsSender] | None = None,
) -> Gateway:
    """Open storage, complete the secrets (generated once, kept in storage), build the SMS
    chain. Raises :class:`~loop.config.ConfigError` without a usable SMS provider."""
    backend = storage or await storage_from_url(settings.storage_url)
    settings = settings.with_secrets(await backend.ensure_secrets(_candidates(settings)))
    http = httpx.AsyncClient(follow_redirects=False)
    return Gateway(
        settings=settings,
        clock=clock,
        storage=backend,
        sms=sms(http) if sms else sms_from_settings(settings, http=http, now=clock.now),
        signing_key=browserid.secret_key_from_json(json.loads(settings.browserid.secret_key)),
        http=http,
    )


def _candidates(settings: MsisdnSettings) -> dict[str, str]:
    """Random values for every secret not configured (only the first start keeps them)."""
    candidates = {name: secrets.token_hex(16) for name in GENERATED_SECRETS}
    if not settings.browserid.secret_key:
        key = browserid.generate(settings.browserid.key_algorithm)
        candidates["bid_public_key"] = json.dumps(key.public.to_json())
        candidates["bid_secret_key"] = json.dumps(key.to_json())
    return candidates


def gateway_routes(settings: MsisdnSettings) -> list[BaseRoute]:
    """Every route at ``/`` and, when set, under ``api_prefix`` too (§1.1)."""
    from loop.msisdn.routes import flow, public

    base = [*public.routes, *flow.routes]
    return [*base, Mount(settings.api_prefix, routes=base)] if settings.api_prefix else base


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


Handler = Callable[[Request, Any], Awaitable[Response]]


def _exception_handlers(settings: MsisdnSettings) -> dict[Any, Handler]:
    async def gateway_error(request: Request, exc: Any) -> Response:
        request.scope[ERRNO_KEY] = int(exc.errno)
        response: Response = exc.response()
        return response

    async def loop_error(request: Request, exc: Any) -> Response:
        """Errors of the shared readers and of Hawk: same numbers, same shape."""
        request.scope[ERRNO_KEY] = int(exc.errno)
        return loop_errors.error_response(exc)

    async def backend_error(request: Request, exc: Any) -> Response:
        logger.critical("backend failure: %r", exc)
        return await gateway_error(request, errors.service_unavailable(settings.retry_after))

    async def http_error(request: Request, exc: Any) -> Response:
        """Unknown route → 404 ``{"code": 404}``; wrong method → 405 likewise (§1.1)."""
        return Response(dumps({"code": exc.status_code}), exc.status_code, media_type=_JSON)

    async def unexpected(request: Request, exc: Any) -> Response:
        logger.exception("unexpected error")
        body = {"code": 500, "errno": 999, "error": "Internal Server Error"}
        return Response(dumps(body), 500, media_type=_JSON)

    return {
        errors.GatewayError: gateway_error,
        loop_errors.LoopError: loop_error,
        BackendError: backend_error,
        HTTPException: http_error,
        Exception: unexpected,
    }


_JSON = "application/json"
