"""Who gets a page: browsers (``Accept: text/html``) at ``/`` and ``/{token}``; API
clients keep the API's exact answers there."""

from __future__ import annotations

import requests

from tests.pages.conftest import Server
from tests.support.browser import Owner

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def test_a_browser_opening_a_room_link_gets_the_room_page_with_a_strict_policy(
    server: Server,
) -> None:
    answer = requests.get(f"{server.origin}/CbJwL9PCTiA", headers=HTML, timeout=10)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    assert '<script type="module" src="/assets/js/room.js"></script>' in answer.text
    assert answer.headers["content-security-policy"] == (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        f"media-src 'self' blob: mediastream:; connect-src 'self' {server.origin} "
        f"{server.origin.replace('http', 'ws')}; object-src 'none'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    )
    assert answer.headers["referrer-policy"] == "no-referrer"


def test_api_clients_keep_the_redirect_of_unknown_paths(server: Server) -> None:
    for headers in ({}, {"Accept": "application/json"}, {"Accept": "text/html;q=0"}):
        answer = requests.get(
            f"{server.origin}/CbJwL9PCTiA?x=1", headers=headers, allow_redirects=False, timeout=10
        )
        assert answer.status_code == 307
        assert answer.headers["location"] == "/v0/CbJwL9PCTiA?x=1"


def test_a_path_outside_the_token_alphabet_is_no_room_page(server: Server) -> None:
    answer = requests.get(
        f"{server.origin}/favicon.ico", headers=HTML, allow_redirects=False, timeout=10
    )
    assert answer.status_code == 307
    assert answer.headers["location"] == "/v0/favicon.ico"


def test_the_root_is_the_owner_client_for_browsers_and_the_service_description_otherwise(
    server: Server,
) -> None:
    page = requests.get(f"{server.origin}/", headers=HTML, timeout=10)
    assert page.status_code == 200
    assert '<script type="module" src="/assets/js/owner.js"></script>' in page.text
    description = requests.get(f"{server.origin}/", timeout=10)
    assert description.status_code == 200
    assert description.headers["content-type"] == "application/json"
    assert description.json() == requests.get(f"{server.origin}/v0/", timeout=10).json()


def test_assets_are_served_as_modules(server: Server) -> None:
    answer = requests.get(f"{server.origin}/assets/js/room.js", timeout=10)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/javascript")
    missing = requests.get(f"{server.origin}/assets/js/nothing.js", timeout=10)
    assert missing.status_code == 404


def test_room_links_point_at_the_servers_own_room_page(server: Server) -> None:
    link, token = Owner(server.origin).create_room("Tea")
    assert link.startswith(f"{server.origin}/{token}#")
