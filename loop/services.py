"""The services container: everything a request may use, one typed object per process.

It sits below the domain and above the backends: it depends only on the configuration,
the clock and the backends it opens (storage, media, push, metrics), so any layer above
(domain rules, routes, the application factory) may import it without a cycle.
:func:`services` is how a request reaches it: the factory leaves it in ``app.state``.

Domain functions do not take :class:`Services` itself but the narrowest protocol below
that names what they use: :class:`RoomServices` sees storage only as
:class:`~loop.storage.RoomStorage`, so ``mypy --strict`` rejects a room rule that reaches
for sessions or calls. :class:`Services` satisfies every one of them structurally (a
protocol's read-only ``storage`` accepts the full :class:`~loop.storage.Storage`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
from collections.abc import Awaitable
from typing import Protocol

import httpx
from starlette.requests import HTTPConnection

from loop.clock import Clock, SystemClock
from loop.config import GENERATED_SECRETS, VAPID_SECRET, Settings
from loop.media import MediaProvider
from loop.media import from_settings as media_from_settings
from loop.metrics import Metrics, StatsdMetrics
from loop.metrics import from_settings as metrics_from_settings
from loop.push import PushNotifier, vapid
from loop.storage import (
    AccountStorage,
    CallStorage,
    RoomStorage,
    SessionStorage,
    SignallingStorage,
    Storage,
)
from loop.storage import from_url as storage_from_url

logger = logging.getLogger("loop")


class Configured(Protocol):
    """What every domain reads: the configuration and the one clock."""

    @property
    def settings(self) -> Settings: ...

    @property
    def clock(self) -> Clock: ...


class Outbound(Configured, Protocol):
    """For rules that call other servers (identity verifiers, FxA) and keep nothing."""

    @property
    def http(self) -> httpx.AsyncClient: ...


class SessionServices(Outbound, Protocol):
    """Sessions, Hawk and signing in: sessions storage, and the verifiers over HTTP."""

    @property
    def storage(self) -> SessionStorage: ...


class AccountServices(Outbound, Protocol):
    """The FxA OAuth login and account deletion: accounts storage, and FxA over HTTP."""

    @property
    def storage(self) -> AccountStorage: ...


class RoomServices(Configured, Protocol):
    """Rooms: rooms storage, the media sessions, the owner's notifications, metrics, and
    the signalling bus (room events close the ``webrtc`` provider's sockets)."""

    @property
    def storage(self) -> RoomStorage: ...

    @property
    def signals(self) -> SignallingStorage: ...

    @property
    def media(self) -> MediaProvider: ...

    @property
    def push(self) -> PushNotifier: ...

    @property
    def metrics(self) -> Metrics: ...


class CallServices(Configured, Protocol):
    """Calls and call URLs: calls storage, the media sessions, the callees' notifications."""

    @property
    def storage(self) -> CallStorage: ...

    @property
    def media(self) -> MediaProvider: ...

    @property
    def push(self) -> PushNotifier: ...


BACKGROUND_STOP_TIMEOUT = 5.0
"""Seconds shutdown waits for cancelled background jobs: one that swallowed its cancel (as
``asyncio.wait_for`` inside a driver can on 3.11) must not keep the process alive."""


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
        backend = storage_backend or await storage_from_url(
            settings.storage_url, timeout=settings.storage.timeout
        )
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
            media=media_provider or media_from_settings(settings, clock),
            push=PushNotifier.from_settings(
                settings, http=http, metrics=metrics, storage=backend, clock=clock
            ),
            http=http,
            metrics=metrics,
        )

    @property
    def signals(self) -> SignallingStorage:
        """The storage's signalling channels (members and bus), for the domains' Protocols."""
        return self.storage

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
        if self.background:
            _, stuck = await asyncio.wait(list(self.background), timeout=BACKGROUND_STOP_TIMEOUT)
            if stuck:
                logger.warning("services.close.background_stuck", extra={"tasks": len(stuck)})
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
