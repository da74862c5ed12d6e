"""The FxA OAuth and profile servers, as ``POST /fxa-oauth/token`` uses them (loop-api.md
§3.8, msisdn-and-auth.md §4.1-§4.2).

Trust in the e-mail comes from having traded the code ourselves, with our client secret,
and from the profile server accepting the token it produced. Every failure of theirs is
our 503 (the client may retry), with the original's texts where it had them. Tokens and
addresses are never logged.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any

import httpx

from loop import errors
from loop.services import Outbound

logger = logging.getLogger("loop.identity")

NO_EMAIL = "email not found in the oauth server request. [object Object]"
NO_TOKEN = "No access token in the OAuth server's answer."
MAX_ECHOED_BODY = 1000


@dataclasses.dataclass(frozen=True, slots=True)
class Grant:
    """The OAuth server's answer to a code trade."""

    access_token: str
    token_type: str | None
    scope: Any

    def body(self) -> dict[str, Any]:
        """The route's answer: the three members, each omitted when the server sent none."""
        answer = {"token_type": self.token_type, "access_token": self.access_token}
        answer["scope"] = self.scope
        return {name: value for name, value in answer.items() if value is not None}


async def trade_code(services: Outbound, code: Any) -> Grant:
    """``POST <oauth_uri>/token {code, client_id, client_secret}``."""
    oauth = services.settings.fxa_oauth
    payload = {"code": code, "client_id": oauth.client_id, "client_secret": oauth.client_secret}
    response = await _call(services, "POST", f"{oauth.oauth_uri}/token", json=payload)
    try:
        answer = response.json()
    except ValueError:
        answer = None
    token = answer.get("access_token") if isinstance(answer, dict) else None
    if not isinstance(token, str) or not token:
        logger.warning("fxa.token: no access token (status %s)", response.status_code)
        raise errors.LoopError(503, errors.Errno.BACKEND, NO_TOKEN)
    assert isinstance(answer, dict)
    return Grant(token, answer.get("token_type"), answer.get("scope"))


async def profile_email(services: Outbound, access_token: str) -> str:
    """``GET <profile_uri>/profile`` with the bearer token: the account's e-mail."""
    url = f"{services.settings.fxa_oauth.profile_uri}/profile"
    headers = {"Authorization": f"Bearer {access_token}"}
    response = await _call(services, "GET", url, headers=headers)
    try:
        profile = json.loads(response.text)
    except ValueError as exc:
        text = f"SyntaxError: {exc} JSON: {response.text[:MAX_ECHOED_BODY]}"
        raise errors.LoopError(503, errors.Errno.BADJSON, text) from None
    email = profile.get("email") if isinstance(profile, dict) else None
    if not isinstance(email, str) or not email:
        raise errors.LoopError(503, errors.Errno.BACKEND, NO_EMAIL)
    return email


async def _call(services: Outbound, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One request under the verification timeout; a transport failure is a 503."""
    try:
        return await services.http.request(
            method, url, timeout=services.settings.browserid.timeout, **kwargs
        )
    except httpx.HTTPError as exc:
        logger.warning("fxa: %s %s failed: %s", method, url, type(exc).__name__)
        raise errors.service_unavailable(services.settings.retry_after) from None
