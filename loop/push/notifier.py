"""The notifier: fans push notifications out to the devices of a user (loop-api.md §7, D17).

Routes call :meth:`PushNotifier.notify` and move on: delivery is fire-and-forget, runs
in the background with a time limit, and a failing push service never fails or slows
the request that caused the notification. The original server behaved the same way
(it did not wait for the ``PUT``), and clients poll ``?version=`` anyway, so a lost
notification only delays a device until its next poll.

The notifier owns the policy; senders (:mod:`loop.push.simplepush`,
:mod:`loop.push.webpush`) only speak their protocol. Both kinds go through one pipeline:

* targets are deduplicated per notification by JSON value (two devices sharing a URL or a
  subscription get one message);
* each target goes to the :class:`Sender` registered for its kind; a kind with no sender
  (Web Push without a VAPID key, malformed records) is logged and counted as skipped;
* at most ``push.max_concurrency`` requests run at once and each attempt is abandoned
  after ``push.timeout`` seconds; beyond ``push.max_pending`` queued deliveries new ones
  are dropped, so a dead push service costs bounded memory;
* 5xx, 429 and refused connections are retried a bounded number of times with backoff,
  honouring ``Retry-After`` (:mod:`loop.push.retry`); a delivery waiting to retry holds
  no concurrency slot;
* a Web Push 404/410 means the subscription is dead: it is removed from every device of
  the user the notification was for (``notify(..., user=...)``), so it is not tried again;
* outcomes are counted as ``loop.<kind>.call`` tagged ``[reason, success|failure|gone|
  retry]`` (the original's statsd names, e.g. ``loop.simplepush.call`` /
  ``rooms.notifyowner.join``; ``retry`` once per retried attempt) and problems are logged
  with the target's host and hash, never its URL (a capability).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Literal
from urllib.parse import urlsplit

import httpx

from loop.clock import Clock, SystemClock
from loop.config import Settings
from loop.metrics import Metrics, NullMetrics
from loop.push.base import Delivery, Kind, Sender, canonical, describe, kind
from loop.push.retry import RetryPolicy
from loop.push.simplepush import SimplePushSender
from loop.push.vapid import VapidSigner
from loop.push.webpush import WebPushSender
from loop.storage import PushTarget, Topic
from loop.storage.webpush import WebPushStorage

logger = logging.getLogger("loop.push")

HEARTBEAT_METRIC = "loop.simplepush.call.heartbeat"
_STATUS_SCHEMES = {"ws": "http", "wss": "https", "http": "http", "https": "https"}

ForgetTarget = Callable[[str, PushTarget], Awaitable[object]]
"""Removes a dead target from a user's registrations (``WebPushStorage.forget_push_target``)."""
Outcome = Literal["success", "failure", "gone"]


@dataclasses.dataclass(frozen=True, slots=True)
class _Job:
    """One notification, as :meth:`PushNotifier.notify` received it."""

    topic: Topic
    version: int
    reason: str
    user: str | None


@dataclasses.dataclass(slots=True)
class _Attempts:
    """What the attempts of one delivery came to, filled in as they go."""

    delivery: Delivery | None = None
    error: str = ""
    started: float | None = None
    """When the first attempt got its slot (``time.perf_counter``): durations measure the
    push service, not our queue. An interval timer, not the app's Clock: the Clock says
    what date it is (and tests move it), this only measures how long something took."""


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
        retry: RetryPolicy | None = None,
        forget: ForgetTarget | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.http = http
        self.timeout = timeout
        self.max_pending = max_pending
        self.close_grace = close_grace
        self.push_server_uris = tuple(push_server_uris)
        self.heartbeat_timeout = heartbeat_timeout
        self.metrics: Metrics = metrics if metrics is not None else NullMetrics()
        self.retry = retry if retry is not None else RetryPolicy()
        self.forget = forget
        self.clock: Clock = clock if clock is not None else SystemClock()
        chosen = (
            list(senders) if senders is not None else [SimplePushSender(http, clock=self.clock)]
        )
        self.senders: Mapping[Kind, Sender] = {sender.kind: sender for sender in chosen}
        web_push = self.senders.get("webpush")
        self.vapid_public_key: str | None = (
            web_push.signer.public_key if isinstance(web_push, WebPushSender) else None
        )
        """What ``GET /push-server-config`` offers as ``vapidPublicKey``; None without
        Web Push."""
        self._slots = asyncio.Semaphore(max_concurrency)
        self._in_flight = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        http: httpx.AsyncClient,
        metrics: Metrics | None = None,
        storage: WebPushStorage | None = None,
        clock: Clock | None = None,
    ) -> PushNotifier:
        """Web Push is on when ``push.vapid_private_key`` is set (``Services.open`` fills
        it in); dead subscriptions are forgotten when a ``storage`` is given. ``clock`` is
        the app's (``Services.clock``): it dates ``Retry-After`` and forgotten targets."""
        push = settings.push
        clock = clock if clock is not None else SystemClock()
        senders: list[Sender] = [SimplePushSender(http, clock=clock)]
        if push.vapid_private_key:
            signer = VapidSigner.from_text(push.vapid_private_key, push.vapid_subject)
            senders.append(WebPushSender(http, signer, ttl=push.ttl, clock=clock))
        return cls(
            http,
            push.timeout,
            max_concurrency=push.max_concurrency,
            max_pending=push.max_pending,
            close_grace=push.close_grace,
            push_server_uris=settings.push_server_uris,
            heartbeat_timeout=settings.heartbeat_timeout / 1000,
            metrics=metrics,
            senders=senders,
            retry=RetryPolicy(push.retries, push.retry_delay, push.max_retry_delay),
            forget=_forgetter(storage, clock) if storage is not None else None,
            clock=clock,
        )

    @property
    def pending(self) -> int:
        """Deliveries queued, in flight or waiting to retry."""
        return len(self._tasks)

    @property
    def in_flight(self) -> int:
        """Deliveries holding a concurrency slot: a request is being sent or awaited."""
        return self._in_flight

    async def drain(self, timeout: float = 30.0) -> None:
        """Return once every delivery scheduled so far has finished: its outcome counted
        and logged, its retries done, a gone subscription forgotten.

        This is the event to wait on — after a request that notifies, a test awaits it
        and then checks exactly what the push service received, instead of sleeping or
        polling a metric (which is counted a moment before the delivery is over).
        Deliveries scheduled while draining are waited for too. Bounded like every wait:
        ``TimeoutError`` after ``timeout`` seconds, the deliveries left running.
        """
        async with asyncio.timeout(timeout):
            while self._tasks:
                await asyncio.wait(set(self._tasks))

    def notify(
        self,
        targets: Iterable[PushTarget],
        *,
        topic: Topic,
        version: int,
        reason: str,
        user: str | None = None,
    ) -> None:
        """Send ``version`` to every target (deduplicated) in the background.

        ``user`` is whose registrations ``targets`` are; give it so a subscription the
        push service reports gone is removed from that user's devices. Returns at once
        and never raises: the caller's request must not depend on push.
        """
        try:
            self._schedule(targets, _Job(topic, version, reason, user))
        except Exception:  # a bug here must not turn a room update into a 500
            logger.exception("push.notify failed", extra={"reason": reason})

    def _schedule(self, targets: Iterable[PushTarget], job: _Job) -> None:
        if self._closed:
            logger.debug("push.closed", extra={"reason": job.reason})
            return
        unique = {canonical(target): target for target in targets}
        for target in unique.values():
            target_kind = kind(target)
            sender = self.senders.get(target_kind)
            if sender is None:
                self._skip(target, target_kind, job.reason)
            elif len(self._tasks) >= self.max_pending:
                self.metrics.incr("loop.push.dropped", tags=[job.reason, target_kind])
                logger.warning("push.dropped", extra={"reason": job.reason, **describe(target)})
            else:
                coroutine = self._run(sender, target, job)
                task = asyncio.get_running_loop().create_task(coroutine)
                self._tasks.add(task)
                # For a task cancelled before its first step, which never runs _run.
                task.add_done_callback(self._tasks.discard)

    def _skip(self, target: PushTarget, target_kind: Kind, reason: str) -> None:
        """Targets no sender handles: Web Push without a VAPID key, or malformed records."""
        self.metrics.incr(f"loop.{target_kind}.call", tags=[reason, "skipped"])
        message = "push.invalid" if target_kind == "invalid" else "push.unsupported"
        logger.info(message, extra={"kind": target_kind, "reason": reason, **describe(target)})

    async def _run(self, sender: Sender, target: PushTarget, job: _Job) -> None:
        """A delivery's task. It leaves ``pending`` as its very last step, so whoever
        sees the task finished also sees it gone, whatever order callbacks run in."""
        try:
            await self._deliver(sender, target, job)
        finally:
            task = asyncio.current_task()
            if task is not None:
                self._tasks.discard(task)

    async def _deliver(self, sender: Sender, target: PushTarget, job: _Job) -> None:
        """One delivery: attempts (retried by the policy), then count the outcome and
        forget the target if the push service says it is gone."""
        attempts = _Attempts()
        try:
            await self._attempts(sender, target, job, attempts)
        except asyncio.CancelledError:
            attempts.error = "cancelled"
            raise
        finally:
            outcome = _outcome(sender, attempts.delivery)
            self._record(sender.kind, target, job.reason, outcome, attempts)
        if outcome == "gone":
            await self._forget(target, job)

    async def _attempts(
        self, sender: Sender, target: PushTarget, job: _Job, attempts: _Attempts
    ) -> None:
        attempt = 0
        while True:
            failure = await self._attempt(sender, target, job, attempts)
            wait = self.retry.wait(attempt, attempts.delivery, failure)
            if wait is None:
                return
            self._note_retry(sender.kind, target, job.reason, attempts, wait)
            await asyncio.sleep(wait)
            attempt += 1

    async def _attempt(
        self, sender: Sender, target: PushTarget, job: _Job, attempts: _Attempts
    ) -> BaseException | None:
        """One request under the time limit; the exception it failed with, if any."""
        attempts.delivery, attempts.error = None, ""
        try:
            async with self._slots:
                self._in_flight += 1
                try:
                    if attempts.started is None:
                        attempts.started = time.perf_counter()
                    async with asyncio.timeout(self.timeout):
                        attempts.delivery = await sender.send(
                            target, topic=job.topic, version=job.version
                        )
                finally:
                    self._in_flight -= 1
        except TimeoutError as exc:
            attempts.error = "timeout"
            return exc
        except Exception as exc:  # transport errors, and a sender's bugs alike
            attempts.error = type(exc).__name__
            return exc
        return None

    def _note_retry(
        self, sender_kind: Kind, target: PushTarget, reason: str, attempts: _Attempts, wait: float
    ) -> None:
        self.metrics.incr(f"loop.{sender_kind}.call", tags=[reason, "retry"])
        delivery = attempts.delivery
        fields: dict[str, object] = {
            "kind": sender_kind,
            "reason": reason,
            "status": delivery.status if delivery is not None else 0,
            "error": attempts.error,
            "wait": round(wait, 3),
            **describe(target),
        }
        logger.info("push.retry", extra=fields)

    def _record(
        self,
        sender_kind: Kind,
        target: PushTarget,
        reason: str,
        outcome: Outcome,
        attempts: _Attempts,
    ) -> None:
        started = attempts.started if attempts.started is not None else time.perf_counter()
        elapsed_ms = (time.perf_counter() - started) * 1000
        metric = f"loop.{sender_kind}.call"
        self.metrics.incr(metric, tags=[reason, outcome])
        self.metrics.timing(f"{metric}.duration", elapsed_ms, tags=[reason, outcome])
        delivery = attempts.delivery
        fields: dict[str, object] = {
            "kind": sender_kind,
            "reason": reason,
            "outcome": outcome,
            "status": delivery.status if delivery is not None else 0,
            "error": attempts.error,
            "t": int(elapsed_ms),
            **describe(target),
        }
        level = {"success": logging.DEBUG, "gone": logging.INFO}.get(outcome, logging.WARNING)
        logger.log(level, "push.delivery", extra=fields)

    async def _forget(self, target: PushTarget, job: _Job) -> None:
        """Drop a dead subscription so later notifications skip it. Best effort: a
        storage failure only means one more 410 next time."""
        if self.forget is None or job.user is None:
            logger.info("push.gone not forgotten (no user or storage)", extra=describe(target))
            return
        try:
            await self.forget(job.user, target)
        except Exception as exc:
            fields = {"error": type(exc).__name__, **describe(target)}
            logger.warning("push.forget failed", extra=fields)
        else:
            logger.info("push.forgotten", extra={"reason": job.reason, **describe(target)})

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
        try:
            await self.drain(self.close_grace)
        except TimeoutError:
            stuck = set(self._tasks)
            for task in stuck:
                task.cancel()
            await asyncio.gather(*stuck, return_exceptions=True)
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


def _outcome(sender: Sender, delivery: Delivery | None) -> Outcome:
    if delivery is not None and delivery.ok:
        return "success"
    if delivery is not None and delivery.gone and sender.forgets_gone:
        return "gone"
    return "failure"


def _forgetter(storage: WebPushStorage, clock: Clock) -> ForgetTarget:
    async def forget(user: str, target: PushTarget) -> object:
        return await storage.forget_push_target(user, target, now=clock.now())

    return forget
