"""Noticing participants who silently dropped out (loop-api.md §5.6, decisions §6).

A participant who stops refreshing lapses after ``rooms.participant_ttl`` seconds. The
original learnt of it from Redis keyspace events, sometimes many seconds late; here every
process sweeps every ``storage.expiry_check_interval`` seconds. The storage hands each
lapsed participant to exactly one sweeper, which touches the room and notifies its owner.
"""

from __future__ import annotations

import asyncio
import logging

from loop.rooms.lifecycle import HOUR, notify_owner
from loop.services import RoomServices
from loop.storage import BackendError, RoomChange

logger = logging.getLogger("loop.rooms")

BATCH = 500
MAX_BATCHES = 20
"""Per sweep; a larger backlog waits for the next sweep rather than starving requests."""


async def reap_expired_participants(services: RoomServices) -> list[RoomChange]:
    """One sweep: remove lapsed participants, touch their rooms, notify the owners."""
    changes: list[RoomChange] = []
    for _ in range(MAX_BATCHES):
        now = services.clock.now()
        batch = await services.storage.reap_participants(
            now=now,
            room_expires_at=int(now) + services.settings.rooms.extend_ttl * HOUR,
            limit=BATCH,
        )
        for change in batch:
            notify_owner(services, change, "leave")
        changes.extend(batch)
        if not batch:
            break
    return changes


async def watch_participant_expiry(services: RoomServices) -> None:
    """Sweep forever. A failing backend is logged and retried at the next tick: this task
    must outlive any outage, or owners would stop hearing of departures for good."""
    interval = services.settings.storage.expiry_check_interval
    while True:
        try:
            await reap_expired_participants(services)
        except BackendError as exc:  # an outage: one line per sweep, no traceback
            logger.warning("rooms.expiry.backend_error", extra={"error": repr(exc.original)})
        except Exception:
            logger.exception("rooms.expiry.failed")
        _stop_if_cancelled()
        await asyncio.sleep(interval)


def _stop_if_cancelled() -> None:
    """Honour a cancellation a library swallowed: on Python 3.11 ``asyncio.wait_for``
    (redis-py uses it to send a command) returns its result instead of raising when the
    cancel lands just as the command completes. The task stays marked as cancelling, so
    look: otherwise the sweep would run on and whoever awaits it (shutdown) would hang."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
