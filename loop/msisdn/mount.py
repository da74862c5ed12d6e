"""The MSISDN gateway served by this process under ``[msisdn] prefix`` (decisions D20).

With ``[msisdn] trust`` (the default) the Loop server verifies the mounted gateway's
certificates with the gateway's own signing key, read in-process: no key to copy into the
configuration and no HTTP fetch. The issuer is the gateway's ``browserid.issuer`` or,
when that is empty (the gateway then signs with the ``Host`` the client used), this
server's ``public_server_address``.

This belongs to the application layer (it is the factory's, not a domain rule): it builds
one app inside another and hands the host the gateway's key.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette

from loop.browserid import PublicKey
from loop.clock import Clock
from loop.config import Settings
from loop.identity.issuers import KeyProvider
from loop.msisdn.app import mount_gateway
from loop.msisdn.config import load_msisdn_settings


def mount(app: Starlette, settings: Settings, *, clock: Clock) -> None:
    """Mount the gateway (its settings: ``[msisdn] config`` file and ``MSISDN_*``
    variables); its services open and close within ``app``'s lifespan."""
    gateway_settings = load_msisdn_settings(settings.msisdn.config or None)
    app.state.clock = clock  # the gateway shares the host's clock
    mounted = mount_gateway(app, gateway_settings, prefix=settings.msisdn.prefix)
    if settings.msisdn.trust:
        issuer = gateway_settings.browserid.issuer or settings.public_server_address
        app.state.browserid_providers = {issuer: signing_key_of(mounted)}


def signing_key_of(mounted: Starlette) -> KeyProvider:
    """The gateway's public key once its services are open; none before."""

    def keys() -> list[PublicKey]:
        gateway: Any = getattr(mounted.state, "gateway", None)
        return [] if gateway is None else [gateway.signing_key.public]

    return keys
