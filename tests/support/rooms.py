"""Helpers for the rooms HTTP tests: sessions, rooms, joins and push, in a few calls."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from loop.crypto import encrypt, hmac_hex, session_identity_key
from loop.hawk import hawk_id_hmac
from loop.storage import RoomState
from tests.routes.conftest import Harness
from tests.support.app import make_settings, running_app
from tests.support.client import HawkSession, LoopClient

CONTEXT = {"value": "T3BhcXVlIGNvbnRleHQ=\r\nbW9yZQ==", "alg": "AES-GCM", "wrappedKey": "d3JhcA=="}
ROOM = {"roomOwner": "Alice", "maxSize": 5, "context": CONTEXT}
"""A room as today's desktop creates it (client-usage.md §2.1), with room for five."""


@asynccontextmanager
async def harness_with(storage_url: str, **overrides: Any) -> AsyncIterator[Harness]:
    """Like the ``harness`` fixture, with settings ``overrides`` (see ``make_settings``)."""
    async with running_app(make_settings(storage_url, **overrides)) as (app, services, clock):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://localhost:5000"
        ) as http:
            yield Harness(services, clock, LoopClient(http, clock))


def user_key(harness: Harness, session: HawkSession) -> str:
    """A guest's user key: its hawkIdHmac."""
    return hawk_id_hmac(harness.services.settings, session.id)


async def registered(harness: Harness, identity: str) -> HawkSession:
    """A session bound to ``identity``, as a BrowserID or OAuth login leaves it."""
    session = await harness.client.register()
    settings = harness.services.settings
    await harness.services.storage.bind_identity(
        user_key(harness, session),
        user_mac=hmac_hex(settings.user_mac_secret, identity.lower(), settings.user_mac_algorithm),
        encrypted_identity=encrypt(session_identity_key(session.id), identity),
        now=harness.clock.now(),
        ttl=settings.hawk_session_duration,
    )
    return session


async def create_room(harness: Harness, owner: HawkSession, **fields: Any) -> dict[str, Any]:
    """``POST /rooms`` with :data:`ROOM` updated by ``fields``; the 201 answer."""
    response = await harness.client.post("/rooms", json={**ROOM, **fields}, hawk=owner)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def join(
    harness: Harness,
    token: str,
    session: HawkSession | None = None,
    *,
    name: str = "Guest",
    client_max_size: Any = 5,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    body = {"action": "join", "displayName": name, "clientMaxSize": client_max_size}
    return await harness.client.post(f"/rooms/{token}", json=body, hawk=session, headers=headers)


async def joined(harness: Harness, token: str, session: HawkSession | None = None) -> str:
    """Join and return the media token (a link-clicker's credential)."""
    response = await join(harness, token, session)
    assert response.status_code == 200, response.text
    media_token: str = response.json()["sessionToken"]
    return media_token


async def act(
    harness: Harness,
    token: str,
    action: str,
    session: HawkSession | None = None,
    *,
    headers: dict[str, str] | None = None,
    **fields: Any,
) -> httpx.Response:
    body = {"action": action, **fields}
    return await harness.client.post(f"/rooms/{token}", json=body, hawk=session, headers=headers)


def basic(media_token: str, colon: bool = False) -> dict[str, str]:
    """The link-clicker's credential: ``Basic base64(token)`` (or ``token:``, D26)."""
    raw = (media_token + (":" if colon else "")).encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


async def room_state(harness: Harness, token: str) -> RoomState:
    state = await harness.services.storage.get_room(token, now=harness.clock.now())
    assert state is not None
    return state


async def register_push(harness: Harness, session: HawkSession, url: str) -> None:
    body = {"simplePushURLs": {"rooms": url}}
    response = await harness.client.post("/registration", json=body, hawk=session)
    assert response.status_code == 200, response.text
