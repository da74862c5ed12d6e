"""Helpers every gateway route uses: parameters (the original's "truthy" checks), the
public base URL, rate limits by client address."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request

from loop.msisdn import errors, verification
from loop.msisdn.services import Gateway
from loop.web.clients import request_client
from loop.web.requests import check_accept, json_body


async def params(request: Request, *required: str) -> dict[str, Any]:
    """The body (JSON or urlencoded) after the Accept gate (406/106), with ``required``
    present and truthy, else 400/108 ``Missing a,b`` (§1.5)."""
    check_accept(request)
    body = await json_body(request)
    require(body, *required)
    return body


def require(body: Mapping[str, Any], *names: str) -> None:
    missing = [name for name in names if _falsy(body.get(name))]
    if missing:
        raise errors.missing(missing)


def _falsy(value: Any) -> bool:
    """JavaScript's falsiness for JSON values: null, false, "", 0 (not [] nor {})."""
    if value is None or value is False or value == "":
        return True
    return isinstance(value, int | float) and not isinstance(value, bool) and value == 0


def host(request: Request) -> str:
    return request.headers.get("host", "")


THROUGH_PREFIX = "loop.msisdn.through_prefix"
"""Scope key set on requests routed under ``api_prefix`` (whose ``root_path`` ends with it)."""


def base_url(request: Request, gateway: Gateway) -> str:
    """``<protocol>://<Host><mount point><api_prefix>``: where clients reach the API."""
    prefix = gateway.settings.api_prefix
    root: str = request.scope.get("root_path", "")
    if request.scope.get(THROUGH_PREFIX):
        root = root.removesuffix(prefix)
    return f"{gateway.settings.protocol}://{host(request)}{root}{prefix}"


async def limit_by_address(request: Request, gateway: Gateway) -> None:
    """errno 117 for unauthenticated endpoints, per client address (D21)."""
    address = request_client(request) or "unknown"  # through trusted proxies
    limits = gateway.settings.rate_limits
    await verification.enforce(
        gateway.storage,
        bucket=f"ip:{address}",
        limit=limits.requests_per_ip,
        period=limits.period,
        now=gateway.clock.now(),
        errno=errors.GatewayErrno.TOO_MANY_REQUESTS,
    )
