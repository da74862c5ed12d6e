"""The Redis side of :mod:`loop.storage.quotas`: rate windows checked and counted by the
script that creates the thing limited (the prelude's ``full_for``/``count_in``).

A script given windows takes their keys after its own (:func:`window_keys`) and one
argument describing them (:func:`window_spec`); when a window is full it answers an
integer, the milliseconds it still lasts, which no other reply of these scripts is, and
:func:`check` turns it into :class:`~loop.storage.quotas.RateLimited`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from loop.storage.quotas import RateLimit, RateLimited, retry_after
from loop.storage.redis import keys
from loop.storage.redis.codec import number


def window_keys(limits: Sequence[RateLimit]) -> list[str]:
    return [keys.rate(window.key) for window in limits]


def window_spec(limits: Sequence[RateLimit]) -> str:
    """``"limit period limit period ..."``, in the order of :func:`window_keys`."""
    return " ".join(f"{window.limit} {number(window.period)}" for window in limits)


def check(reply: Any) -> Any:
    """The reply, unless it says a window is full."""
    if isinstance(reply, int) and not isinstance(reply, bool):
        raise RateLimited(retry_after(reply / 1000))
    return reply
