"""The remote BrowserID verifier (``fxa_verifier``, FxA's v2 API; loop-api.md §3.5, §4.2,
decisions §6).

Only the server's own findings are echoed to the client (transport failure, unusable
answer, untrusted issuer); when the verifier itself says no, the client gets a bare
``Unauthorized``, as the running original did, and the reason goes to the log.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import httpx

from loop.identity.errors import browserid_error, browserid_refused
from loop.services import Outbound

logger = logging.getLogger("loop.identity")

OKAY = "okay"
ISSUER_NOT_TRUSTED = "Issuer is not trusted"


async def verify(services: Outbound, *, audience: str, assertion: str) -> dict[str, Any]:
    """The verified assertion's ``idpClaims``; raises the spec's 401 otherwise."""
    settings = services.settings
    url = settings.fxa_verifier
    try:
        response = await services.http.post(
            url,
            json={"audience": audience, "assertion": assertion},
            timeout=settings.browserid.timeout,
        )
    except httpx.HTTPError as exc:
        raise browserid_error(str(exc) or type(exc).__name__) from None
    answer = _json_object(response)
    if answer is None:
        raise browserid_error(
            f"Verifier service unavailable: {url} returned a {response.status_code}"
        )
    if answer.get("status") != OKAY:
        logger.info("browserid.refused", extra={"reason": str(answer.get("reason"))[:200]})
        raise browserid_refused()
    if answer.get("issuer") not in settings.fxa_trusted_issuers:
        raise browserid_error(ISSUER_NOT_TRUSTED)
    claims = answer.get("idpClaims")
    return claims if isinstance(claims, dict) else {}


async def ping(services: Outbound) -> bool:
    """``GET <verifier origin>/status`` answers 200 (§4.2). No verifier configured (every
    trusted issuer verified locally) counts as healthy."""
    url = services.settings.fxa_verifier
    if not url:
        return True
    parts = urlsplit(url)
    response = await services.http.get(f"{parts.scheme}://{parts.netloc}/status")
    return response.status_code == 200


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        answer = response.json()
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None
