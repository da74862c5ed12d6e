"""Rate limits and quotas, counted by the storage operation that creates the thing limited.

A request that creates something (a session, a room, a seat in a room, a call URL, a
call) hands the storage method the :class:`RateLimit` windows it falls under; the backend
checks them and counts the request in the same script or transaction that creates the
thing, so a limit costs no extra round trip and holds across every process sharing the
storage. The rule on both backends:

* every window is a fixed one: it opens at the first counted request of a key, lasts
  ``period`` seconds, and counts at most ``limit`` requests;
* if any of the windows is full, nothing happens and :class:`RateLimited` says how long
  the longest-waiting of them still lasts;
* otherwise the thing is created and each window counts it; a request the domain refuses
  (no such room, a join conflict...) counts nowhere.

Counters expire with their window (Redis ``PEXPIRE``, SQLite's purge of expired rows).
"""

from __future__ import annotations

import dataclasses

from loop.storage.errors import StorageError


@dataclasses.dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``limit`` requests per ``period`` seconds for ``key`` (a fixed window).

    ``key`` names the action and its subject (``rooms:s:<hawkIdHmac>``...); backends store
    it as given, so it must carry no identity or address in clear."""

    key: str
    limit: int
    period: float


class RateLimited(StorageError):
    """A window is full; nothing was changed."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


class TooManyRooms(StorageError):
    """The owner already has the most live rooms allowed; nothing was changed."""


def retry_after(seconds_left: float) -> int:
    """Whole seconds until a window frees (at least 1), as ``Retry-After`` wants them."""
    return max(1, int(seconds_left + 0.999))
