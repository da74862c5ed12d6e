"""Push notifications to the devices of a user (loop-api.md §7, decisions D17).

Routes call :meth:`PushNotifier.notify` and move on: delivery is fire-and-forget, runs
in the background with a time limit, and a failing push service never fails or slows
the request that caused the notification. The original server behaved the same way
(it did not wait for the ``PUT``), and clients poll ``?version=`` anyway, so a lost
notification only delays a device until its next poll.

The notifier owns the policy; senders (:mod:`loop.push.simplepush`, later
``loop.push.webpush``) only speak their protocol:

* targets are deduplicated per notification by JSON value (two devices sharing a URL get
  one ``PUT``);
* each target goes to the :class:`Sender` registered for its kind; a kind with no sender
  (Web Push, for now) is logged as unsupported and counted as skipped;
* at most ``push.max_concurrency`` requests run at once and each is abandoned after
  ``push.timeout`` seconds; beyond ``push.max_pending`` queued deliveries new ones are
  dropped, so a dead push service costs bounded memory;
* outcomes are counted as ``loop.<kind>.call`` tagged ``[reason, success|failure]``
  (the original's statsd names, e.g. ``loop.simplepush.call`` /
  ``rooms.notifyowner.join``) and failures are logged with the target's host and hash,
  never its URL (a capability).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import urlsplit

import httpx

from loop.config import Settings
from loop.metrics import Metrics, NullMetrics
from loop.push.base import Delivery, Kind, Sender, canonical, describe, kind
from loop.push.simplepush import SimplePushSender
from loop.storage import PushTarget, Topic

__all__ = ["Delivery", "PushNotifier", "Sender", "SimplePushSender", "status_url"]

logger = logging.getLogger("loop.push")

HEARTBEAT_METRIC = "loop.simplepush.call.heartbeat"
_STATUS_SCHEMES = {"ws": "http", "wss": "https", "http": "http", "https": "https"}


class PushNotifier:
    """Fans notifications out to push services in background tasks; see the module doc."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        timeout: float,
        *,
        max_concurrency: int = 64,
        max_pending: int = 10_000,
        close_grace: float = 1.0,
        push_server_uris: Sequence[str] = (),
        heartbeat_timeout: float = 2.0,
        metrics: Metrics | None = None,
        senders: Iterable[Sender] | None = None,
    ) -> None:
        self.http = http
        self.timeout = timeout
        self.max_pending = max_pending
        self.close_grace = close_grace
        self.push_server_uris = tuple(push_server_uris)
        self.heartbeat_timeout = heartbeat_timeout
        self.metrics: Metrics = metrics if metrics is not None else NullMetrics()
        chosen = senders if senders is not None else [SimplePushSender(http)]
        self.senders: Mapping[Kind, Sender] = {sender.kind: sender for sender in chosen}
        self._slots = asyncio.Semaphore(max_concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    @classmethod
    def from_settings(
        cls, settings: Settings, *, http: httpx.AsyncClient, metrics: Metrics | None = None
    ) -> PushNotifier:
        push = settings.push
        return cls(
            http,
            push.timeout,
            max_concurrency=push.max_concurrency,
            max_pending=push.max_pending,
            close_grace=push.close_grace,
            push_server_uris=settings.push_server_uris,
            heartbeat_timeout=settings.heartbeat_timeout / 1000,
            metrics=metrics,
        )

    @property
    def pending(self) -> int:
        """Deliveries queued or in flight."""
        return len(self._tasks)

    def notify(
        self, targets: Iterable[PushTarget], *, topic: Topic, version: int, reason: str
    ) -> None:
        """Send ``version`` to every target (deduplicated) in the background.

        Returns at once and never raises: the caller's request must not depend on push.
        """
        try:
            self._schedule(targets, topic=topic, version=version, reason=reason)
        except Exception:  # a bug here must not turn a room update into a 500
            logger.exception("push.notify failed", extra={"reason": reason})

    def _schedule(
        self, targets: Iterable[PushTarget], *, topic: Topic, version: int, reason: str
    ) -> None:
        if self._closed:
            logger.debug("push.closed", extra={"reason": reason})
            return
        unique = {canonical(target): target for target in targets}
        for target in unique.values():
            target_kind = kind(target)
            sender = self.senders.get(target_kind)
            if sender is None:
                self._skip(target, target_kind, reason)
            elif len(self._tasks) >= self.max_pending:
                self.metrics.incr("loop.push.dropped", tags=[reason, target_kind])
                logger.warning("push.dropped", extra={"reason": reason, **describe(target)})
            else:
                coroutine = self._deliver(sender, target, topic, version, reason)
                task = asyncio.get_running_loop().create_task(coroutine)
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    def _skip(self, target: PushTarget, target_kind: Kind, reason: str) -> None:
        """Targets no sender handles: Web Push until it lands, or malformed records."""
        self.metrics.incr(f"loop.{target_kind}.call", tags=[reason, "skipped"])
        message = "push.invalid" if target_kind == "invalid" else "push.unsupported"
        logger.info(message, extra={"kind": target_kind, "reason": reason, **describe(target)})

    async def _deliver(
        self, sender: Sender, target: PushTarget, topic: Topic, version: int, reason: str
    ) -> None:
        """One delivery: wait for a slot, send under the time limit, count the outcome."""
        delivery: Delivery | None = None
        error = ""
        started = time.perf_counter()
        try:
            async with self._slots:
                started = time.perf_counter()  # the limit is on the request, not the queue
                async with asyncio.timeout(self.timeout):
                    delivery = await sender.send(target, topic=topic, version=version)
        except TimeoutError:
            error = "timeout"
        except asyncio.CancelledError:
            error = "cancelled"
            raise
        except Exception as exc:  # transport errors, and a sender's bugs alike
            error = type(exc).__name__
        finally:
            self._record(sender.kind, target, reason, delivery, error, started)

    def _record(
        self,
        sender_kind: Kind,
        target: PushTarget,
        reason: str,
        delivery: Delivery | None,
        error: str,
        started: float,
    ) -> None:
        elapsed_ms = (time.perf_counter() - started) * 1000
        ok = delivery is not None and delivery.ok
        outcome = "success" if ok else "failure"
        metric = f"loop.{sender_kind}.call"
        self.metrics.incr(metric, tags=[reason, outcome])
        self.metrics.timing(f"{metric}.duration", elapsed_ms, tags=[reason, outcome])
        fields: dict[str, object] = {
            "kind": sender_kind,
            "reason": reason,
            "outcome": outcome,
            "status": delivery.status if delivery is not None else 0,
            "error": error,
            "t": int(elapsed_ms),
            **describe(target),
        }
        logger.log(logging.DEBUG if ok else logging.WARNING, "push.delivery", extra=fields)

    async def ping(self) -> bool:
        """Whether every configured push server answers ``GET /status`` with 200
        (loop-api.md §4.2; an empty list is healthy), within ``heartbeat_timeout``."""
        ok = True
        if self.push_server_uris:
            checks = [self._status_ok(uri) for uri in self.push_server_uris]
            try:
                async with asyncio.timeout(self.heartbeat_timeout):
                    ok = all(await asyncio.gather(*checks))
            except TimeoutError:
                ok = False
        self.metrics.incr(HEARTBEAT_METRIC, tags=["success" if ok else "failure"])
        return ok

    async def _status_ok(self, uri: str) -> bool:
        url = status_url(uri)
        if url is None:
            logger.warning("push.heartbeat unusable push server URI", extra={"uri": uri})
            return False
        try:
            response = await self.http.get(url, timeout=self.heartbeat_timeout)
        except (httpx.HTTPError, OSError) as exc:
            logger.warning("push.heartbeat failed", extra={"url": url, "error": repr(exc)})
            return False
        if response.status_code != 200:
            logger.warning(
                "push.heartbeat failed", extra={"url": url, "status": response.status_code}
            )
        return response.status_code == 200

    async def close(self) -> None:
        """Wait up to ``close_grace`` seconds for deliveries in flight, then cancel the
        rest; notifications after this are dropped."""
        self._closed = True
        tasks = set(self._tasks)
        if not tasks:
            return
        _, stuck = await asyncio.wait(tasks, timeout=self.close_grace)
        for task in stuck:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if stuck:
            logger.warning("push.close cancelled deliveries", extra={"cancelled": len(stuck)})


def status_url(uri: str) -> str | None:
    """``wss://host[:port]/...`` → ``https://host[:port]/status`` (ws → http); None when
    the URI has no usable scheme or host."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return None
    scheme = _STATUS_SCHEMES.get(parts.scheme.lower())
    host = parts.netloc.rpartition("@")[2]
    if scheme is None or not host:
        return None
    return f"{scheme}://{host}/status"
