"""The services container: everything a request may use, one typed object per process.

It sits below the domain and above the backends: it depends only on the configuration,
the clock and the backends it opens (storage, media, push, metrics), so any layer above
(domain rules, routes, the application factory) may import it without a cycle.
:func:`services` is how a request reaches it: the factory leaves it in ``app.state``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
from collections.abc import Awaitable

import httpx
from starlette.requests import HTTPConnection

from loop.clock import Clock, SystemClock
from loop.config import GENERATED_SECRETS, VAPID_SECRET, Settings
from loop.media import MediaProvider
from loop.media import from_settings as media_from_settings
from loop.metrics import Metrics, StatsdMetrics
from loop.metrics import from_settings as metrics_from_settings
from loop.push import PushNotifier, vapid
from loop.storage import Storage
from loop.storage import from_url as storage_from_url

logger = logging.getLogger("loop")


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


def services(connection: HTTPConnection) -> Services:
    """The services of the app serving ``connection`` (a request or a websocket)."""
    svc: Services = connection.app.state.services
    return svc
