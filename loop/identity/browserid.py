"""``POST /registration`` with ``Authorization: BrowserID <cert~assertion>`` (loop-api.md
§3.5, msisdn-and-auth.md §3.2, decisions D20 and §6).

Order of checks, each with the spec's answer:

1. the header is exactly ``BrowserID <assertion>`` → else 401 ``Unauthorized``;
2. the assertion's ``aud`` (read unverified) is literally one of ``fxa_audiences`` → else
   401 ``Malformed audience`` / ``Invalid audience``;
3. verification: locally when the certificate's issuer is one we hold keys for (bad
   signature, expiry, audience mismatch → 401 ``Unauthorized``, as a remote refusal;
   keys unobtainable → 401 naming it), else by the remote verifier when the issuer is in
   ``fxa_trusted_issuers``; any other issuer → 401 ``Issuer is not trusted`` without
   asking the remote verifier, which could only lead to that answer or a refusal;
4. the identity: ``fxa-verifiedEmail``, else ``verifiedMSISDN`` → else 400;
5. a new session bound to it (its token goes back in ``Hawk-Session-Token``).
"""

from __future__ import annotations

import logging
from typing import Any

from loop import browserid
from loop.identity import create_bound_session, remote
from loop.identity.errors import browserid_error, browserid_refused, no_identity
from loop.identity.issuers import KeyUnavailable, TrustedIssuers
from loop.services import Outbound, SessionServices
from loop.storage import Session

logger = logging.getLogger("loop.identity")

SCHEME = "browserid"
IDENTITY_CLAIMS = ("fxa-verifiedEmail", "verifiedMSISDN")
MALFORMED_AUDIENCE = "Malformed audience"
INVALID_AUDIENCE = "Invalid audience"


async def sign_in(
    svc: SessionServices, issuers: TrustedIssuers, authorization: str
) -> tuple[str, Session, str]:
    """Verify the BrowserID assertion in ``authorization`` (the header's value) and open a
    session for its identity: ``(session token, session, Hawk id)``; raises the spec's
    error otherwise. ``issuers``: the app's trusted issuers and their key cache."""
    assertion = _assertion(authorization)
    audience = _audience(svc.settings.fxa_audiences, assertion)
    claims = await _verified_claims(svc, issuers, audience, assertion)
    return await create_bound_session(svc, _identity(claims))


def _assertion(authorization: str) -> str:
    parts = authorization.split(" ")
    if len(parts) != 2 or parts[0].lower() != SCHEME or not parts[1]:
        raise browserid_refused()
    return parts[1]


def _audience(accepted: list[str], assertion: str) -> str:
    try:
        audience = browserid.unverified_audience(assertion)
    except browserid.VerificationError:
        raise browserid_error(MALFORMED_AUDIENCE) from None
    if audience not in accepted:
        raise browserid_error(INVALID_AUDIENCE)
    return audience


async def _verified_claims(
    svc: Outbound, issuers: TrustedIssuers, audience: str, assertion: str
) -> dict[str, Any]:
    issuer = _unverified_issuer(assertion)
    if issuer is None:
        raise browserid_refused()
    if issuers.trusts(issuer):
        return await _verify_locally(svc, issuers, issuer, audience, assertion)
    if svc.settings.fxa_verifier and issuer in svc.settings.fxa_trusted_issuers:
        return await remote.verify(svc, audience=audience, assertion=assertion)
    raise browserid_error(remote.ISSUER_NOT_TRUSTED)


async def _verify_locally(
    svc: Outbound, issuers: TrustedIssuers, issuer: str, audience: str, assertion: str
) -> dict[str, Any]:
    try:
        keys = await issuers.keys(issuer)
    except KeyUnavailable as exc:
        raise browserid_error(str(exc)) from None
    try:
        verified = browserid.verify(
            assertion,
            audience=audience,
            trusted_keys={issuer: keys},
            now=svc.clock.now(),
            leeway=svc.settings.browserid.leeway,
        )
    except browserid.VerificationError as exc:
        logger.info("browserid.refused", extra={"reason": exc.reason[:200]})
        raise browserid_refused() from None
    return verified.idp_claims


def _unverified_issuer(assertion: str) -> str | None:
    """The first certificate's ``iss``, read without verifying, to pick the verifier."""
    pieces = assertion.split("~")
    if len(pieces) < 2:
        return None
    try:
        issuer = browserid.decode(pieces[0]).payload.get("iss")
    except browserid.MalformedToken:
        return None
    return issuer if isinstance(issuer, str) else None


def _identity(claims: dict[str, Any]) -> str:
    for name in IDENTITY_CLAIMS:
        value = claims.get(name)
        if isinstance(value, str) and value:
            return value
    raise no_identity()
