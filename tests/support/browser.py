"""Real pages in a real browser: Debian's Chromium driven by Playwright, and the real
``loop-server`` command serving the pages and the API.

One browser per test session (starting Chromium costs about a second); every page gets a
fresh context, so pages share no storage, cookies or permissions, as different people's
browsers would not. Chromium's fake camera and microphone stand in for devices and
its fake permission prompt accepts them (or refuses them: ``launch(refuse_media=True)``).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from playwright.sync_api import Browser, BrowserContext, BrowserType, Page, sync_playwright
from requests_hawk import HawkAuth  # type: ignore[import-untyped]

from tests.support.ports import free_port
from tests.support.servers import console_command
from tests.support.waiting import eventually_blocking

CHROMIUM = os.environ.get("LOOP_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]
WAIT_MS = 20_000
"""The longest any page assertion waits (Playwright's own waits are event-driven)."""


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    """Headless Chromium for the block (``LOOP_TEST_CHROMIUM`` names another binary)."""
    with sync_playwright() as playwright:
        browser = launch(playwright.chromium)
        try:
            yield browser
        finally:
            browser.close()


def launch(browser_type: BrowserType, *, refuse_media: bool = False) -> Browser:
    """``refuse_media``: the permission prompt answers "Block" to camera and microphone
    (the fake prompt overrides per-page permissions, so refusing takes its own browser)."""
    args = [arg + "=deny" if refuse_media and "fake-ui" in arg else arg for arg in CHROMIUM_ARGS]
    return browser_type.launch(executable_path=CHROMIUM, headless=True, args=args)


@contextlib.contextmanager
def loop_server(data_dir: Path, **env: str) -> Iterator[str]:
    """``loop-server`` on a free port (or ``LOOP_PORT``), its public address that port;
    yields its origin."""
    port = int(env.pop("LOOP_PORT", 0)) or free_port()
    settings = {
        "LOOP_PORT": str(port),
        "LOOP_PUBLIC_SERVER_ADDRESS": f"127.0.0.1:{port}",
        "LOOP_DATA_DIR": str(data_dir),
        "LOOP_STORAGE__URL": f"sqlite:///{data_dir / 'loop.db'}",
        "LOOP_PUSH_SERVER_URIS": "[]",
        "LOOP_FXA_VERIFIER": "",
        **env,
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    with console_command("loop-server", port, data_dir / f"server-{port}.log", settings):
        yield f"http://127.0.0.1:{port}"


@dataclass
class Pages:
    """Opens pages, each in its own browser context, and closes them all at the end."""

    browser: Browser
    contexts: list[BrowserContext] = field(default_factory=list)

    def open(self, url: str, *, viewport: tuple[int, int] = (800, 700), **options: Any) -> Page:
        width, height = viewport
        context = self.browser.new_context(viewport={"width": width, "height": height}, **options)
        context.set_default_timeout(WAIT_MS)
        self.contexts.append(context)
        page = context.new_page()
        page.goto(url)
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()
        self.contexts.clear()


def frames_decoded(page: Page) -> dict[str, int]:
    """Video frames this page decoded so far, per peer (``window.loopDebug``)."""
    frames: dict[str, int] = page.evaluate("loopDebug.framesDecoded()")
    return frames


def wait_for_video(pages: list[Page], peers: int, timeout: float = 30.0) -> None:
    """Wait until every page decodes video from ``peers`` others and keeps decoding (each
    peer's count rises between two readings). getStats() has no event for "n frames
    decoded", so this polls it (:func:`eventually_blocking`)."""
    for page in pages:
        _wait_for_page_video(page, peers, timeout)


def _wait_for_page_video(page: Page, peers: int, timeout: float) -> None:
    first: dict[str, int] = {}

    def arrived() -> bool:
        first.clear()
        first.update(frames_decoded(page))
        return len(first) == peers and all(count > 0 for count in first.values())

    def rose() -> bool:
        after = frames_decoded(page)
        return after.keys() == first.keys() and all(after[k] > first[k] for k in first)

    eventually_blocking(arrived, what=f"video from {peers} peers", timeout=timeout)
    eventually_blocking(rose, what="video frames to keep arriving", timeout=timeout)


# -- the API side, as a desktop client would drive it ----------------------------------------


class Owner:
    """A Hawk session (the Firefox desktop's role): creates rooms with encrypted names."""

    def __init__(self, origin: str) -> None:
        self.api = f"{origin}/v0"
        answer = requests.post(f"{self.api}/registration", json={}, timeout=10)
        assert answer.status_code == 200, answer.text
        self.token = answer.headers["Hawk-Session-Token"]
        self.auth = HawkAuth(hawk_session=self.token, server_url=origin)
        self.bare_auth = HawkAuth(
            hawk_session=self.token, server_url=origin, always_hash_content=False
        )

    def create_room(self, name: str, max_size: int = 5) -> tuple[str, str]:
        """``(roomUrl#key, token)`` of a new room whose name only the key opens."""
        key = AESGCM.generate_key(bit_length=128)
        context = {
            "value": encrypt_context(key, {"roomName": name, "urls": []}),
            "wrappedKey": encrypt_context(AESGCM.generate_key(bit_length=128), {}),
            "alg": "AES-GCM",
        }
        body: dict[str, Any] = {"roomOwner": "-", "maxSize": max_size, "context": context}
        answer = requests.post(f"{self.api}/rooms", json=body, auth=self.auth, timeout=10)
        assert answer.status_code == 201, answer.text
        created = answer.json()
        return f"{created['roomUrl']}#{_b64url(key)}", created["roomToken"]

    def room(self, token: str) -> dict[str, Any]:
        answer = requests.get(f"{self.api}/rooms/{token}", auth=self.bare_auth, timeout=10)
        assert answer.status_code == 200, answer.text
        room: dict[str, Any] = answer.json()
        return room

    def rooms(self) -> list[dict[str, Any]]:
        answer = requests.get(f"{self.api}/rooms", auth=self.bare_auth, timeout=10)
        assert answer.status_code == 200, answer.text
        rooms: list[dict[str, Any]] = answer.json()
        return rooms

    def join(self, token: str, name: str) -> dict[str, Any]:
        body: dict[str, Any] = {"action": "join", "displayName": name, "clientMaxSize": 10}
        answer = requests.post(f"{self.api}/rooms/{token}", json=body, auth=self.auth, timeout=10)
        assert answer.status_code == 200, answer.text
        joined: dict[str, Any] = answer.json()
        return joined


def guest_join(origin: str, token: str, name: str) -> dict[str, Any]:
    """An anonymous join, as the link-clicker page makes it."""
    body: dict[str, Any] = {"action": "join", "displayName": name, "clientMaxSize": 10}
    answer = requests.post(f"{origin}/v0/rooms/{token}", json=body, timeout=10)
    assert answer.status_code == 200, answer.text
    joined: dict[str, Any] = answer.json()
    return joined


def encrypt_context(key: bytes, details: dict[str, Any]) -> str:
    """base64(IV ‖ AES-GCM ciphertext) of the JSON details (client-usage.md §2.1)."""
    iv = os.urandom(12)
    sealed = AESGCM(key).encrypt(iv, json.dumps(details).encode(), None)
    return base64.b64encode(iv + sealed).decode()


def _b64url(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).rstrip(b"=").decode()
