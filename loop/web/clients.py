"""Who is asking: the client's address, through the proxies the operator trusts.

Behind a TLS terminator or load balancer, the peer of every connection is the proxy; the
client is named in ``X-Forwarded-For``, which each proxy appends to. Only entries added by
trusted proxies can be believed, so the client is the rightmost entry that is not itself a
trusted proxy (anything left of it was written by the client and may be forged). With no
trusted proxies (the default) the header is ignored and the peer is the client.

The middleware settles it once per request (``client_address(scope, trusted)``, with
``trusted = parse_networks(settings.trusted_proxies)`` built at start-up) and leaves it in
the scope, where the request log and the per-address limits (:mod:`loop.quotas`, the
gateway's) read it with :func:`request_client`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from starlette.requests import HTTPConnection
from starlette.types import Scope

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

UNKNOWN = "unknown"
"""The address when the server has none (a test transport, a Unix socket)."""

CLIENT_KEY = "loop.client"
"""Scope key where the middleware leaves the request's client address."""


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """Addresses or CIDR blocks (``10.0.0.1``, ``10.0.0.0/8``, ``::1``); ``ValueError``
    names the first that is neither."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or network") from None
    return tuple(networks)


def client_address(scope: Scope, trusted: Sequence[Network]) -> str:
    """The client's address for an ASGI ``http`` or ``websocket`` scope."""
    client = scope.get("client")
    peer = str(client[0]) if client else UNKNOWN
    if not trusted or not in_networks(peer, trusted):
        return peer
    hops = _forwarded_for(scope)
    for hop in reversed(hops):
        if not in_networks(hop, trusted):
            return hop
    return hops[0] if hops else peer


def _forwarded_for(scope: Scope) -> list[str]:
    """Every ``X-Forwarded-For`` entry, in order, over all such headers; entries that are
    not addresses are dropped (they cannot be a client, and must not reach a log)."""
    hops: list[str] = []
    for name, value in scope["headers"]:
        if name == b"x-forwarded-for":
            for entry in value.decode("latin-1").split(","):
                address = _address(entry.strip())
                if address is not None:
                    hops.append(address)
    return hops


def _address(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def in_networks(address: str, networks: Sequence[Network]) -> bool:
    """Whether ``address`` (text, possibly not an address at all) is in one of ``networks``."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def request_client(connection: HTTPConnection) -> str | None:
    """The client address the middleware settled for this request, or ``None`` when the
    server does not know it (per-address limits then do not apply)."""
    address = connection.scope.get(CLIENT_KEY) or client_address(connection.scope, ())
    return None if address == UNKNOWN else str(address)
