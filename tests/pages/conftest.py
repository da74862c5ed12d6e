"""Shared parts for the page tests: one Chromium and one ``loop-server`` for the package (each
test makes its own rooms, so sharing the server couples nothing), fresh pages per test.

Package scope, not session: Playwright's sync API keeps an event loop running in the main
thread while it is open, which the asyncio tests of later packages could not start under."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.support.browser import Pages, chromium, loop_server

MEDIA = {"LOOP_MEDIA__PROVIDER": "webrtc"}


@dataclass(frozen=True)
class Server:
    origin: str
    data_dir: Path


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    with chromium() as running:
        yield running


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("pages-server")
    with loop_server(data_dir, **MEDIA) as origin:
        yield Server(origin, data_dir)


@pytest.fixture
def pages(browser: Browser) -> Iterator[Pages]:
    opened = Pages(browser)
    yield opened
    opened.close()
