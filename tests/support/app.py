"""The app under test, on either backend, with a clock tests can move."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette

from loop.app import Services, create_app, open_app
from loop.clock import FakeClock
from loop.config import MediaSettings, Settings, StorageSettings


def make_settings(storage_url: str, **overrides: Any) -> Settings:
    """Defaults with secrets fixed and a test storage; ``overrides`` replace top-level
    fields (pass section dataclasses, e.g. ``rooms=RoomsSettings(max_size=3)``)."""
    settings = Settings(
        storage=StorageSettings(url=storage_url),
        user_mac_secret="00" * 16,  # type: ignore[arg-type]
        hawk_id_secret="11" * 16,  # type: ignore[arg-type]
        fxa_verifier="",  # offline: no remote BrowserID verifier unless a test starts one
        media=MediaSettings(provider="fake"),  # the HTTP suite checks OpenTok-shaped answers
    )
    return dataclasses.replace(settings, **overrides)


@asynccontextmanager
async def running_app(
    settings: Settings, *, background_jobs: bool = False
) -> AsyncIterator[tuple[Starlette, Services, FakeClock]]:
    """An app with its services opened (no lifespan needed) and an empty storage."""
    clock = FakeClock(start=float(int(time.time())))
    app = create_app(settings, clock=clock, background_jobs=background_jobs)
    services = await open_app(app, clock=clock, background_jobs=background_jobs)
    await services.storage.flush()
    try:
        yield app, services, clock
    finally:
        await services.close()
