"""The owner's web client at ``/``: a Hawk session made in the browser, and its rooms —
created with an encrypted name, listed, renamed, linked and deleted."""

from __future__ import annotations

from typing import Any

import requests
from playwright.sync_api import Page, expect
from requests_hawk import HawkAuth  # type: ignore[import-untyped]

from tests.pages.conftest import Server
from tests.support.browser import Pages

EXPIRED = "Sorry, you cannot join this conversation. The link may be expired or invalid."


def test_an_owner_creates_renames_shares_and_deletes_a_room(server: Server, pages: Pages) -> None:
    owner = pages.open(f"{server.origin}/")
    expect(owner.get_by_text("You have no rooms yet.")).to_be_visible()
    owner.get_by_label("Room name").fill("Family call")
    owner.get_by_label("Seats").select_option("3")
    owner.get_by_role("button", name="Create room").click()
    expect(owner.get_by_role("status")).to_have_text("Room “Family call” created.")
    room = owner.get_by_role("listitem").filter(has_text="Family call")
    expect(room.get_by_text("Nobody is in the room.")).to_be_visible()

    [listed] = _rooms_of(owner, server)
    assert listed["maxSize"] == 3
    assert set(listed["context"]) == {"value", "wrappedKey", "alg"}
    assert "Family" not in str(listed)  # the server only ever sees ciphertext

    room.get_by_label("New name for Family call").fill("Family dinner")
    room.get_by_role("button", name="Rename").click()
    expect(owner.get_by_role("status")).to_have_text("Room renamed.")
    renamed = owner.get_by_role("listitem").filter(has_text="Family dinner")
    link = renamed.get_by_label("Link").input_value()
    assert link.startswith(f"{listed['roomUrl']}#")

    guest = pages.open(link)
    expect(guest.get_by_role("heading", level=1)).to_have_text("Family dinner")

    delete = renamed.get_by_role("button", name="Delete")
    delete.click()
    renamed.get_by_role("button", name="Really delete “Family dinner”?").click()
    expect(owner.get_by_role("status")).to_have_text("Room deleted.")
    expect(owner.get_by_text("You have no rooms yet.")).to_be_visible()
    assert _rooms_of(owner, server) == []
    guest.reload()
    expect(guest.locator("#status-text")).to_have_text(EXPIRED)


def _rooms_of(page: Page, server: Server) -> list[dict[str, Any]]:
    """The rooms of the browser's session, read by the test with that session's token."""
    token = page.evaluate("localStorage.getItem('loop.sessionToken')")
    auth = HawkAuth(hawk_session=token, server_url=server.origin, always_hash_content=False)
    answer = requests.get(f"{server.origin}/v0/rooms", auth=auth, timeout=10)
    assert answer.status_code == 200
    return [room for room in answer.json() if not room.get("deleted")]
