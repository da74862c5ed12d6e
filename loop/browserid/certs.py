"""Issuing BrowserID certificates and backed assertions (msisdn-and-auth.md §2.2, §2.4).

Times in BrowserID payloads are **milliseconds**; ``now`` arguments here are Unix seconds
(the server's clock), converted once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from loop.browserid import jws
from loop.browserid.keys import PublicKey, SecretKey

CERT_BACKDATE_MS = 10_000
"""Certificates are dated 10 s in the past to absorb verifiers' clock skew (§2.2)."""


def ms(seconds: float) -> int:
    return int(seconds * 1000)


def issue_certificate(
    issuer_key: SecretKey,
    *,
    issuer: str,
    public_key: PublicKey,
    principal: Mapping[str, Any],
    duration: float,
    now: float,
    claims: Mapping[str, Any] | None = None,
) -> str:
    """A certificate binding ``public_key`` to ``principal``, valid ``duration`` seconds.

    ``claims`` are extra members (the "idp claims", e.g. ``verifiedMSISDN``); they cannot
    override the reserved ones.
    """
    payload: dict[str, Any] = dict(claims or {})
    payload.update(
        {
            "iss": issuer,
            "iat": ms(now) - CERT_BACKDATE_MS,
            "exp": ms(now + duration),
            "public-key": public_key.to_json(),
            "principal": dict(principal),
        }
    )
    return jws.encode(payload, issuer_key)


def sign_assertion(
    user_key: SecretKey,
    *,
    audience: str,
    now: float,
    duration: float = 120,
    claims: Mapping[str, Any] | None = None,
) -> str:
    """An assertion for ``audience``, signed with the certified key (the client's side)."""
    payload: dict[str, Any] = dict(claims or {})
    payload.update({"aud": audience, "iat": ms(now), "exp": ms(now + duration)})
    return jws.encode(payload, user_key)


def bundle(certificates: Sequence[str], assertion: str) -> str:
    """``cert~…~assertion``: what the client sends in ``Authorization: BrowserID …``."""
    return "~".join([*certificates, assertion])


def msisdn_principal_email(msisdn: str, host: str) -> str:
    """``<md5 of the E.164 number as a UUID>@<host>``: stable per number and host, and not
    the number itself (§2.2)."""
    digest = hashlib.md5(msisdn.encode("utf-8"), usedforsecurity=False).hexdigest()
    uuid = "-".join([digest[:8], digest[8:12], digest[12:16], digest[16:20], digest[20:]])
    return f"{uuid}@{host}"
