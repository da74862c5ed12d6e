"""The one way tests wait for something that has no event to await.

Prefer the event: ``await services.push.drain()`` once deliveries are scheduled,
``await server.wait_for(n)`` for requests, a websocket's ``recv()``. What is left — a
subprocess starting to listen, a background job sweeping, a row appearing — is polled
here, always against a deadline, never for a fixed time::

    await eventually(lambda: job.done, what="the sweep")
    await eventually(lambda: storage.has(token))           # an async check works too
    eventually_blocking(lambda: port_open(port), what="redis-server", timeout=10)

A condition that raises is not caught: a crashed server fails the test at once rather
than after the deadline.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable

DEADLINE = 10.0
"""Seconds a wait may take before the test fails: generous, for busy CI machines. It
only costs time when the test is failing anyway."""
POLL = 0.01

Check = Callable[[], bool | Awaitable[bool]]


async def eventually(
    condition: Check, *, what: str = "the condition", timeout: float = DEADLINE
) -> None:
    """Return as soon as ``condition()`` is true (it may be a coroutine function);
    AssertionError naming ``what`` once ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while not await _holds(condition):
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        await asyncio.sleep(POLL)


def eventually_blocking(
    condition: Callable[[], bool], *, what: str = "the condition", timeout: float = DEADLINE
) -> None:
    """:func:`eventually` for synchronous code (fixtures starting subprocesses or
    threads): blocks the calling thread between checks."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(POLL)


async def _holds(condition: Check) -> bool:
    result = condition()
    if inspect.isawaitable(result):
        return await result
    return result
