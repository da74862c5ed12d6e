"""What a link clicker sees before any call starts: the room's decrypted name, and each
refusal of client-usage.md §3.5 in words, and a blocked camera."""

from __future__ import annotations

import sqlite3
import time

from playwright.sync_api import Browser, Page, expect

from tests.pages.conftest import Server
from tests.support.browser import Owner, Pages, guest_join, launch

EXPIRED = "Sorry, you cannot join this conversation. The link may be expired or invalid."


def test_the_link_shows_the_room_name_decrypted_with_the_key_in_the_fragment(
    server: Server, pages: Pages
) -> None:
    link, _ = Owner(server.origin).create_room("Book club — Thursday")
    page = pages.open(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Book club — Thursday")
    expect(page.get_by_label("Your name")).to_be_visible()
    expect(page.get_by_role("button", name="Join the conversation")).to_be_focused()


def test_without_the_key_the_room_has_no_name_but_can_be_joined(
    server: Server, pages: Pages
) -> None:
    link, _ = Owner(server.origin).create_room("Secret")
    page = pages.open(link.split("#")[0])
    expect(page.get_by_role("heading", level=1)).to_have_text("Conversation")
    expect(page.get_by_role("button", name="Join the conversation")).to_be_visible()


def test_an_unknown_room(server: Server, pages: Pages) -> None:
    page = pages.open(f"{server.origin}/NoSuchRoom0")
    expect(page.locator("#status-text")).to_have_text(EXPIRED)
    expect(page.get_by_role("button", name="Try again")).to_be_hidden()


def test_an_expired_room(server: Server, pages: Pages) -> None:
    link, token = Owner(server.origin).create_room("Old")
    with sqlite3.connect(server.data_dir / "loop.db") as db:
        db.execute(
            "UPDATE rooms SET expires_at = ? WHERE token = ?", (int(time.time()) - 1, token)
        )
    page = pages.open(link)
    expect(page.locator("#status-text")).to_have_text(EXPIRED)


def test_a_visitor_of_a_full_room_is_told_so(server: Server, pages: Pages) -> None:
    owner = Owner(server.origin)
    link, token = owner.create_room("Two seats", max_size=2)
    owner.join(token, "Owner")
    guest_join(server.origin, token, "First guest")
    page = pages.open(link)
    page.get_by_role("button", name="Join the conversation").click()
    expect(page.locator("#status-text")).to_have_text(
        "This conversation is full: there is no seat left for you."
    )
    assert len(owner.room(token)["participants"]) == 2


def test_a_blocked_camera_is_explained_and_takes_no_seat(server: Server, browser: Browser) -> None:
    owner = Owner(server.origin)
    link, token = owner.create_room("Camera shy")
    refusing = launch(browser.browser_type, refuse_media=True)
    try:
        page = refusing.new_page()
        page.goto(link)
        _refused(page)
    finally:
        refusing.close()
    assert owner.room(token)["participants"] == []


def _refused(page: Page) -> None:
    page.get_by_role("button", name="Join the conversation").click()
    expect(page.locator("#status-text")).to_have_text(
        "Your camera and microphone are blocked. "
        "Allow them for this site in your browser, then try again."
    )
    expect(page.get_by_role("button", name="Try again")).to_be_focused()
