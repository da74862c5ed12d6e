"""Helpers for the calls tests: registered users with push targets, and call set-up."""

from __future__ import annotations

from typing import Any

from loop.app import Services
from loop.hawk import hawk_id_hmac
from loop.identity import seal, user_mac
from tests.support.client import HawkSession, LoopClient


async def sign_in(
    services: Services, client: LoopClient, identity: str, push: dict[str, Any] | None = None
) -> HawkSession:
    """A new device session bound to ``identity`` (as BrowserID/FxA sign-in would bind
    it), registered with ``push`` targets (``{"calls": url}``) when given."""
    body = {"simplePushURLs": push} if push else None
    session = await client.register(body)
    settings = services.settings
    await services.storage.bind_identity(
        hawk_id_hmac(settings, session.id),
        user_mac=user_mac(settings, identity),
        encrypted_identity=seal(session.id, identity),
        now=services.clock.now(),
        ttl=settings.hawk_session_duration,
    )
    if push:
        # Push targets are filed under the user the session acts as: register again now
        # that it is bound, as a signed-in Firefox does.
        response = await client.post("/registration", json=body, hawk=session)
        assert response.status_code == 200, response.text
    return session
