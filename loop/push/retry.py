"""When a failed push delivery is tried again, and after how long.

Only answers that say "not now" are retried: 5xx and 429 (the push service is overloaded
or rate-limiting us), and a refused connection (nothing was sent). A timeout is not
retried: the message may well have been accepted, and a service that hangs would
otherwise hold a delivery for several time limits. 4xx answers are final.

Waits grow exponentially with jitter (so deliveries failed together do not retry in
lockstep), never exceed ``max_delay``, and are never shorter than a ``Retry-After`` the
service sent. A ``Retry-After`` longer than ``max_delay`` ends the delivery instead of
retrying early against the service's explicit wish: a lost notification only delays a
device until its next poll, an ignored rate limit can get the whole server throttled.
"""

from __future__ import annotations

import dataclasses
import random

import httpx

from loop.push.base import Delivery


@dataclasses.dataclass(frozen=True, slots=True)
class RetryPolicy:
    retries: int = 2
    """Attempts after the first one."""
    delay: float = 0.5
    """Seconds before the first retry, doubled for each further one (times a 50-100 %
    jitter)."""
    max_delay: float = 10.0
    """Cap on any wait, backoff or ``Retry-After``."""

    def wait(
        self, attempt: int, delivery: Delivery | None, error: BaseException | None
    ) -> float | None:
        """Seconds to wait before trying again after ``attempt`` (0 for the first)
        ended with ``delivery`` or ``error``; None to give up."""
        if attempt >= self.retries or not self.retryable(delivery, error):
            return None
        backoff = min(self.max_delay, self.delay * 2.0**attempt * random.uniform(0.5, 1.0))
        asked = delivery.retry_after if delivery is not None else None
        if asked is None:
            return backoff
        if asked > self.max_delay:
            return None
        return max(asked, backoff)

    @staticmethod
    def retryable(delivery: Delivery | None, error: BaseException | None) -> bool:
        if delivery is not None:
            return delivery.retryable
        return isinstance(error, httpx.ConnectError)
