"""What every push sender implements, and how targets are told apart and named in logs.

A *target* is what a device registered for a topic (:data:`loop.storage.PushTarget`): a
SimplePush URL string, or a Web Push subscription ``{"endpoint", "keys": {"p256dh",
"auth"}}`` (D17). The notifier picks a :class:`Sender` by the target's :func:`kind`; a
new push protocol is one more ``Sender`` subclass registered under its kind.

Push URLs and endpoints are capabilities — anyone holding one can wake the device — so
they never reach logs: :func:`describe` gives the host and a short hash instead.
"""

from __future__ import annotations

import abc
import dataclasses
import email.utils
import hashlib
from collections.abc import Mapping
from typing import ClassVar, Literal
from urllib.parse import urlsplit

import httpx

from loop.jsonutil import canonical as canonical
from loop.storage import PushTarget, Topic

Kind = Literal["simplepush", "webpush", "invalid"]


@dataclasses.dataclass(frozen=True, slots=True)
class Delivery:
    """The push service's answer to one notification."""

    status: int
    """HTTP status of the push service's answer."""
    retry_after: float | None = None
    """Seconds the push service asked us to wait (``Retry-After``), if it said so."""

    @classmethod
    def from_response(cls, response: httpx.Response, *, now: float) -> Delivery:
        """``now`` (the app's clock) turns a ``Retry-After`` date into seconds."""
        header = response.headers.get("retry-after")
        return cls(response.status_code, parse_retry_after(header, now) if header else None)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def gone(self) -> bool:
        """The push service says the target no longer exists (404/410). SimplePush
        ignores this, as the original did; Web Push drops the subscription."""
        return self.status in (404, 410)

    @property
    def retryable(self) -> bool:
        """A transient refusal (overload, rate limit): the same message may succeed later."""
        return self.status == 429 or self.status >= 500


def parse_retry_after(value: str, now: float) -> float | None:
    """``Retry-After`` as seconds after ``now`` (Unix time): delta-seconds or an HTTP
    date (RFC 9110 §10.2.3); None when unreadable, so a garbled header never blocks a
    retry."""
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now)


class Sender(abc.ABC):
    """Delivers one notification to one target of its kind.

    The notifier owns the policy around a send — deduplication, concurrency, the time
    limit, cancellation at shutdown, metrics and logs — so a sender only speaks its
    protocol: it returns the push service's answer as a :class:`Delivery` (dated by the
    app's :class:`~loop.clock.Clock`, which it is given), and may
    raise ``httpx.HTTPError`` or ``OSError`` for transport failures (counted as failures
    by the notifier). It must not catch ``asyncio.CancelledError``.
    """

    kind: ClassVar[Kind]
    """The target kind this sender handles; also names its metric, ``loop.<kind>.call``."""
    forgets_gone: ClassVar[bool] = False
    """Whether a 404/410 (:attr:`Delivery.gone`) means the registration is dead and should
    be removed from storage (Web Push, RFC 8030 §7.3) rather than merely a failure."""

    @abc.abstractmethod
    async def send(self, target: PushTarget, *, topic: Topic, version: int) -> Delivery:
        """Tell the device behind ``target`` that ``topic`` changed at ``version``."""


def kind(target: object) -> Kind:
    """``simplepush`` for a URL string, ``webpush`` for a subscription object."""
    if isinstance(target, str):
        return "simplepush"
    if isinstance(target, Mapping) and isinstance(target.get("endpoint"), str):
        return "webpush"
    return "invalid"


def endpoint(target: PushTarget) -> str:
    """The URL a notification for ``target`` goes to ("" when it has none)."""
    if isinstance(target, str):
        return target
    value = target.get("endpoint") if isinstance(target, Mapping) else None
    return value if isinstance(value, str) else ""


def describe(target: PushTarget) -> dict[str, str]:
    """Log fields that identify a target without revealing it: its host and a hash."""
    digest = hashlib.sha256(canonical(target).encode()).hexdigest()[:16]
    try:
        host = urlsplit(endpoint(target)).hostname or ""
    except ValueError:
        host = ""
    return {"push_host": host, "push_target": digest}
