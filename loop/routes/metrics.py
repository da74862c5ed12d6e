"""``GET /metrics``: the Prometheus exposition (README "Metrics").

Served at the root only, to the addresses ``metrics.allowed_addresses`` lists (loopback by
default; behind ``trusted_proxies``, the forwarded client is judged, so the proxy cannot
open it to the world by being on loopback). With ``metrics.port`` set, the metrics have
their own listener and this route answers 404.
"""

from __future__ import annotations

import functools

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from loop import errors
from loop.prometheus import CONTENT_TYPE
from loop.services import services
from loop.web.clients import Network, in_networks, parse_networks, request_client


async def metrics(request: Request) -> Response:
    svc = services(request)
    if svc.prometheus is None or svc.settings.metrics.port:
        raise errors.not_found()
    if not _allowed(request_client(request), tuple(svc.settings.metrics.allowed_addresses)):
        raise errors.LoopError(403, errors.Errno.UNDEFINED, "Forbidden")
    svc.prometheus.sync_round_trips(svc.storage.stats.round_trips)
    return Response(svc.prometheus.exposition(), media_type=CONTENT_TYPE)


def _allowed(client: str | None, allowed_addresses: tuple[str, ...]) -> bool:
    return client is not None and in_networks(client, _networks(allowed_addresses))


@functools.cache
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return parse_networks(entries)


routes: list[BaseRoute] = [Route("/metrics", metrics, methods=["GET"])]
