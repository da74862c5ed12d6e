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
import hashlib
import json
from collections.abc import Mapping
from typing import ClassVar, Literal
from urllib.parse import urlsplit

from loop.storage import PushTarget, Topic

Kind = Literal["simplepush", "webpush", "invalid"]


@dataclasses.dataclass(frozen=True, slots=True)
class Delivery:
    """The push service's answer to one notification."""

    status: int
    """HTTP status of the push service's answer."""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def gone(self) -> bool:
        """The push service says the target no longer exists (404/410). SimplePush
        ignores this, as the original did; Web Push should drop the subscription."""
        return self.status in (404, 410)


class Sender(abc.ABC):
    """Delivers one notification to one target of its kind.

    The notifier owns the policy around a send — deduplication, concurrency, the time
    limit, cancellation at shutdown, metrics and logs — so a sender only speaks its
    protocol: it returns the push service's answer as a :class:`Delivery`, and may
    raise ``httpx.HTTPError`` or ``OSError`` for transport failures (counted as failures
    by the notifier). It must not catch ``asyncio.CancelledError``.
    """

    kind: ClassVar[Kind]
    """The target kind this sender handles; also names its metric, ``loop.<kind>.call``."""

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


def canonical(target: PushTarget) -> str:
    """The target's JSON with sorted keys: equal values give equal strings (dedup key)."""
    return json.dumps(target, sort_keys=True, separators=(",", ":"), default=repr)


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
