"""Fault tests (Kinto style): with the backend gone, every method raises BackendError, never
a driver error, and ``ping`` answers ``False`` so ``/__heartbeat__`` reports it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from loop.storage import BackendError, Storage
from loop.storage.secrets import FINGERPRINT
from loop.storage.testing import accounts, admin, calls, rooms, sessions, signalling, webpush
from loop.storage.testing.factories import T0

Call = Callable[[Storage], Awaitable[Any]]

CALLS: dict[str, Call] = {
    "flush": lambda s: s.flush(),
    "ensure_secrets": lambda s: s.ensure_secrets({"a": "1"}),
    "pin_secrets": lambda s: s.pin_secrets({"a": "1", FINGERPRINT: "f"}),
    "check_secrets": lambda s: s.check_secrets(),
    **sessions.FAULT_CALLS,
    **rooms.FAULT_CALLS,
    **calls.FAULT_CALLS,
    **accounts.FAULT_CALLS,
    **webpush.FAULT_CALLS,
    **signalling.FAULT_CALLS,
    **admin.FAULT_CALLS,
}
"""Every :class:`~loop.storage.Storage` method but ``close`` and ``ping``: each concern's
contract module lists its own in ``FAULT_CALLS``."""


class FaultContract:
    @pytest.mark.parametrize("method", sorted(CALLS))
    async def test_backend_failure_raises_backend_error(
        self, broken_storage: Storage, method: str
    ) -> None:
        with pytest.raises(BackendError):
            await CALLS[method](broken_storage)

    async def test_ping_reports_failure_without_raising(self, broken_storage: Storage) -> None:
        assert await broken_storage.ping(now=T0) is False

    async def test_close_raises_nothing_but_backend_error(self, broken_storage: Storage) -> None:
        try:
            await broken_storage.close()
        except BackendError:
            pass

    def test_every_method_is_covered(self) -> None:
        lifecycle = {"close", "ping"}
        assert set(CALLS) == set(Storage.__abstractmethods__) - lifecycle
