"""The per-process services container: opening and, above all, closing."""

from __future__ import annotations

import asyncio

import pytest

from loop import services as services_module
from loop.services import Services
from tests.support.app import make_settings


async def test_close_does_not_wait_forever_for_a_job_that_ignores_its_cancel(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(services_module, "BACKGROUND_STOP_TIMEOUT", 0.1)
    svc = await Services.open(make_settings("sqlite://:memory:"))
    started, release = asyncio.Event(), asyncio.Event()

    async def stubborn() -> None:
        started.set()
        try:
            await release.wait()
        except asyncio.CancelledError:
            await release.wait()  # swallows the cancel, as a driver's wait_for can

    svc.spawn(stubborn())
    await started.wait()
    await asyncio.wait_for(svc.close(), timeout=10)
    assert len(svc.background) == 1
    release.set()
    await asyncio.wait_for(asyncio.gather(*svc.background), timeout=10)
