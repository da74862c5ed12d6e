"""The gateway's services container (:class:`Gateway`): one per process, opened at
start-up. Like :mod:`loop.services` it depends only on configuration, the clock and the
backends (storage, SMS providers), so the routes and the factory above it import it
without a cycle.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
from collections.abc import Callable

import httpx
from starlette.requests import HTTPConnection

from loop import browserid
from loop.clock import Clock
from loop.msisdn.config import MsisdnSettings
from loop.msisdn.sms import SmsSender
from loop.msisdn.sms import from_settings as sms_from_settings
from loop.msisdn.storage import GatewayStorage
from loop.msisdn.storage import from_url as storage_from_url

GENERATED_SECRETS = ("hawk_id_secret", "msisdn_id_secret")


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


def gateway(connection: HTTPConnection) -> Gateway:
    """The services of the gateway app serving ``connection``."""
    found: Gateway = connection.app.state.gateway
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
    backend = storage or await storage_from_url(
        settings.storage_url, timeout=settings.storage.timeout
    )
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
