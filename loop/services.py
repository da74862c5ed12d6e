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
from loop.config import GENERATED_SECRETS, VAPID_SECRET, ConfigError, Settings
from loop.media import MediaProvider
from loop.media import from_settings as media_from_settings
from loop.metrics import Metrics
from loop.metrics import from_settings as metrics_from_settings
from loop.prometheus import MetricsListener, PrometheusMetrics
from loop.push import PushNotifier, vapid
from loop.storage import (
    AccountStorage,
    BackendError,
    CallStorage,
    RoomStorage,
    SessionStorage,
    SignallingStorage,
    Storage,
)
from loop.storage import from_url as storage_from_url
from loop.storage.secrets import FINGERPRINT, fingerprint

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


SECRETS_CONFLICT = (
    "secrets: the storage at storage.url is held to other secrets than this process's "
    "configuration gives (user_mac_secret, hawk_id_secret, rooms.hkdf_salt, "
    "webrtc.token_secret, push.vapid_private_key), by the processes already sharing it or "
    "the last ones that did. Give every process the same secrets; to change them, stop "
    "every process, delete the stored fingerprint (Redis: HDEL secrets fingerprint; SQLite: "
    "DELETE FROM secrets WHERE name = 'fingerprint') and start them with the new ones "
    "(decisions D31)"
)
"""Why a process refuses to start rather than serve beside others with other secrets."""

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
    prometheus: PrometheusMetrics | None = None
    metrics_listener: MetricsListener | None = None
    """The metrics' own port (``metrics.port``), when set."""
    background: set[asyncio.Task[None]] = dataclasses.field(default_factory=set)

    @classmethod
    async def open(
        cls,
        settings: Settings,
        *,
        clock: Clock | None = None,
        storage_backend: Storage | None = None,
        media_provider: MediaProvider | None = None,
        prometheus: PrometheusMetrics | None = None,
    ) -> Services:
        """Open the backends, then fill in secrets that were not configured (generated
        once and kept by the storage, so every process and restart agrees on them), and
        hold the storage to them (:meth:`watch_secrets`; decisions D31)."""
        backend = storage_backend or await storage_from_url(
            settings.storage_url, timeout=settings.storage.timeout
        )
        try:
            settings = await _agree_on_secrets(backend, settings)
        except BaseException:
            if storage_backend is None:
                await backend.close()
            raise
        clock = clock or SystemClock()
        http = httpx.AsyncClient(timeout=settings.push.timeout, follow_redirects=False)
        metrics = metrics_from_settings(settings.metrics, *([prometheus] if prometheus else []))
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
            prometheus=prometheus,
        )

    async def watch_secrets(self) -> None:
        """The periodic secrets check (:meth:`~loop.storage.Storage.check_secrets`), a
        background job: it re-seeds a storage that lost the secrets without this process
        reconnecting (``FLUSHALL``), and keeps logging ``secrets.diverged`` once per
        interval while the storage holds others. An unreachable storage is not a verdict."""
        interval = self.settings.storage.secrets_check_interval
        while True:
            await asyncio.sleep(interval)
            try:
                await self.storage.check_secrets()
            except BackendError:
                pass  # requests report the outage themselves; the next check retries

    async def watch_figures(self) -> None:
        """Keep the Prometheus figures current, a background job: the storage's round trips
        (every process its own) and the rooms in use, read every
        ``metrics.refresh_interval`` seconds so that a scrape never waits on the storage.
        A failed reading keeps the last figures (the outage shows in the error counts)."""
        if self.prometheus is None:
            return
        while True:
            try:
                activity = await self.storage.activity(now=self.clock.now())
            except BackendError:
                pass
            else:
                self.prometheus.activity(activity.rooms, activity.participants)
            self.prometheus.sync_round_trips(self.storage.stats.round_trips)
            await asyncio.sleep(self.settings.metrics.refresh_interval)

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
        self.metrics.close()
        if self.metrics_listener is not None:
            self.metrics_listener.close()
        if self.prometheus is not None:
            self.prometheus.process_exited()


async def _agree_on_secrets(backend: Storage, settings: Settings) -> Settings:
    """The settings with the generated secrets the storage keeps (ours if it had none),
    after pinning the storage to the fingerprint of all of them; ``ConfigError`` if it
    is held to another (configured secrets differ from the other processes')."""
    candidates = {name: secrets.token_hex(size) for name, size in GENERATED_SECRETS.items()}
    candidates[VAPID_SECRET] = vapid.generate_private_key()
    generated = await backend.ensure_secrets(candidates)
    settings = settings.with_secrets(generated)
    record = {**generated, FINGERPRINT: fingerprint(settings.effective_secrets())}
    if not await backend.pin_secrets(record):
        raise ConfigError(SECRETS_CONFLICT)
    return settings


def services(connection: HTTPConnection) -> Services:
    """The services of the app serving ``connection`` (a request or a websocket)."""
    svc: Services = connection.app.state.services
    return svc
