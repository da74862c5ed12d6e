"""Local verification of backed assertions (msisdn-and-auth.md §3.1).

The relying party (Loop) supplies the issuers it trusts and their keys; nothing is
fetched here, so verification is a pure function of its inputs and ``now``. Fetching a
``/.well-known/browserid`` document is the caller's job; :func:`support_document_keys`
reads one.

Every failure raises :class:`VerificationError` whose ``reason`` mirrors the verifier's
failure texts, for logs and ``WWW-Authenticate`` error strings.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeGuard
from urllib.parse import urlsplit

from loop.browserid import jws
from loop.browserid.keys import KeyFormatError, PublicKey, public_key_from_json

RESERVED_CLAIMS = frozenset(
    {"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "public-key", "pubkey", "principal"}
)
_EMAIL = re.compile(r"^[^@\s]+@(?P<domain>[A-Za-z0-9.-]+(?::[0-9]{1,5})?)$")
_DEFAULT_PORTS = {"https": 443, "http": 80, "app": 0}


class VerificationError(Exception):
    """The assertion is not acceptable; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclasses.dataclass(frozen=True, slots=True)
class VerifiedAssertion:
    """The verifier's ``okay`` answer (§3.1 step 10)."""

    email: str
    audience: str
    expires: int
    """Milliseconds, the assertion's ``exp``."""
    issuer: str
    idp_claims: dict[str, Any]
    user_claims: dict[str, Any]


def unverified_audience(backed_assertion: str) -> str:
    """The assertion's ``aud``, read without verifying (the RP's cheap pre-check)."""
    try:
        audience = jws.decode(backed_assertion.rsplit("~", 1)[-1]).payload.get("aud")
    except jws.MalformedToken:
        raise VerificationError("Malformed audience") from None
    if not isinstance(audience, str):
        raise VerificationError("Malformed audience")
    return audience


def verify(
    backed_assertion: str,
    *,
    audience: str,
    trusted_keys: Mapping[str, Sequence[PublicKey]],
    now: float,
    leeway: float = 0.0,
) -> VerifiedAssertion:
    """Verify ``cert~assertion`` for ``audience`` at ``now`` (Unix seconds).

    ``trusted_keys`` maps each trusted issuer to its keys: an issuer absent from it is
    untrusted (there is no discovery of secondaries here). ``leeway`` seconds absorb
    clock skew on every ``iat``/``exp`` check.
    """
    certificate, assertion = _unbundle(backed_assertion)
    email = _principal(certificate.payload)
    now_ms = int(now * 1000)
    slack = int(leeway * 1000)
    _check_times(assertion.payload, now_ms, slack, "assertion")
    issuer = certificate.payload.get("iss")
    if not isinstance(issuer, str) or issuer not in trusted_keys:
        raise VerificationError(f"untrusted issuer: {issuer!r}")
    if not any(certificate.verified_by(key) for key in trusted_keys[issuer]):
        raise VerificationError("bad signature in chain")
    _check_times(certificate.payload, now_ms, slack, "certificate")
    user_key = _certified_key(certificate.payload)
    if not assertion.verified_by(user_key):
        raise VerificationError("bad signature in assertion")
    aud = assertion.payload.get("aud")
    if not isinstance(aud, str) or not audience_matches(aud, audience):
        raise VerificationError("audience mismatch")
    return VerifiedAssertion(
        email=email,
        audience=aud,
        expires=int(assertion.payload["exp"]),
        issuer=issuer,
        idp_claims=extract_claims(certificate.payload),
        user_claims=extract_claims(assertion.payload),
    )


def audience_matches(asserted: str, expected: str) -> bool:
    """Scheme, host and port equal, default ports filled in (§3.1 step 8). ``expected`` may
    be an origin, ``host:port`` or a bare host (both meaning ``http://``)."""
    if "://" not in expected:
        expected = "http://" + expected
    try:
        ours, theirs = urlsplit(expected), urlsplit(asserted)
        ours_port = ours.port or _DEFAULT_PORTS.get(ours.scheme, -1)
        theirs_port = theirs.port or _DEFAULT_PORTS.get(theirs.scheme, -1)
    except ValueError:
        return False
    if ours.path not in ("", "/") or not ours.hostname:
        return False
    return (ours.scheme, ours.hostname, ours_port) == (
        theirs.scheme,
        theirs.hostname,
        theirs_port,
    )


def extract_claims(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Every non-reserved member, plus non-``email`` members of ``principal``."""
    claims = {name: value for name, value in payload.items() if name not in RESERVED_CLAIMS}
    principal = payload.get("principal")
    if isinstance(principal, Mapping):
        for name, value in principal.items():
            if name != "email":
                claims.setdefault(name, value)
    return claims


def support_document_keys(document: Any) -> list[PublicKey]:
    """The signing keys of a ``/.well-known/browserid`` document (§2.5): ``public-key``
    and/or the ``keys`` entries whose ``use`` is ``sig`` (or absent)."""
    if not isinstance(document, Mapping):
        raise VerificationError("support document is not an object")
    candidates: list[Any] = []
    if "public-key" in document:
        candidates.append(document["public-key"])
    keys = document.get("keys")
    if isinstance(keys, list):
        candidates += [k for k in keys if isinstance(k, Mapping) and k.get("use", "sig") == "sig"]
    try:
        parsed = [public_key_from_json(candidate) for candidate in candidates]
    except KeyFormatError as exc:
        raise VerificationError(f"bad key in support document: {exc}") from None
    if not parsed:
        raise VerificationError("support document has no public key")
    return parsed


def _unbundle(backed_assertion: str) -> tuple[jws.Token, jws.Token]:
    pieces = backed_assertion.split("~")
    if len(pieces) < 2:
        raise VerificationError("no certificates provided")
    if len(pieces) > 2:
        raise VerificationError("certificate chaining is not yet allowed")
    try:
        return jws.decode(pieces[0]), jws.decode(pieces[1])
    except jws.MalformedToken as exc:
        raise VerificationError(f"malformed backed assertion: {exc}") from None


def _principal(payload: Mapping[str, Any]) -> str:
    """``principal.email`` (or ``sub``), a syntactically valid address. Its domain is not
    compared with the issuer: the caller's trusted-issuer list is the authority (§3.1 9)."""
    principal = payload.get("principal")
    email = principal.get("email") if isinstance(principal, Mapping) else payload.get("sub")
    if not isinstance(email, str) or _EMAIL.match(email) is None:
        raise VerificationError("invalid principal in certificate")
    return email


def _check_times(payload: Mapping[str, Any], now_ms: int, slack: int, what: str) -> None:
    iat, exp = payload.get("iat"), payload.get("exp")
    if not _is_number(exp) or (iat is not None and not _is_number(iat)):
        raise VerificationError(f"malformed {what}: iat/exp must be numbers")
    if _is_number(iat) and iat > now_ms + slack:
        raise VerificationError(f"{what} issued later than verification date")
    if exp < now_ms - slack:
        raise VerificationError(f"{what} has expired")


def _certified_key(payload: Mapping[str, Any]) -> PublicKey:
    try:
        return public_key_from_json(payload.get("public-key"))
    except KeyFormatError as exc:
        raise VerificationError(f"bad public key in certificate: {exc}") from None


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)
