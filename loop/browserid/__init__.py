"""BrowserID (msisdn-and-auth.md §2-§3): keys, JWS, certificates, backed assertions and
their local verification. The MSISDN gateway signs with it; the Loop server verifies."""

from __future__ import annotations

from loop.browserid.certs import (
    bundle,
    issue_certificate,
    msisdn_principal_email,
    sign_assertion,
)
from loop.browserid.jws import MalformedToken, decode, encode
from loop.browserid.keys import (
    KeyFormatError,
    PublicKey,
    SecretKey,
    generate,
    public_key_from_json,
    secret_key_from_json,
)
from loop.browserid.verify import (
    VerificationError,
    VerifiedAssertion,
    audience_matches,
    extract_claims,
    support_document_keys,
    unverified_audience,
    verify,
)

__all__ = [
    "KeyFormatError",
    "MalformedToken",
    "PublicKey",
    "SecretKey",
    "VerificationError",
    "VerifiedAssertion",
    "audience_matches",
    "bundle",
    "decode",
    "encode",
    "extract_claims",
    "generate",
    "issue_certificate",
    "msisdn_principal_email",
    "public_key_from_json",
    "secret_key_from_json",
    "sign_assertion",
    "support_document_keys",
    "unverified_audience",
    "verify",
]
