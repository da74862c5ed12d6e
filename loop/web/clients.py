"""Who is asking, as far as the network says: the one place the client address is read.

Rate limits per address (:mod:`loop.quotas`) key on this; a deployment behind a proxy
would read the address the proxy forwards here instead, and nowhere else.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection


def client_address(connection: HTTPConnection) -> str | None:
    """The peer's address from the ASGI scope, or ``None`` when the server does not know
    it (a Unix socket)."""
    client = connection.scope.get("client")
    return str(client[0]) if client else None
