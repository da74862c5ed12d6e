"""BrowserID for tests: an identity provider that certifies keys (FxA-like, or any issuer
with any claims), and a device that builds backed assertions, signed with real keys.

Keys are RSA by default (fast to generate); generate them once per module.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from loop import browserid
from loop.browserid import PublicKey, SecretKey

FXA_ISSUER = "api.accounts.firefox.com"
AUDIENCE = "app://loop.services.mozilla.com"


@dataclasses.dataclass(frozen=True)
class Certifier:
    """An issuer and its signing key: it signs certificates as the gateway does (§2.2)."""

    issuer: str
    key: SecretKey

    @classmethod
    def generate(cls, issuer: str = FXA_ISSUER, algorithm: str = "RS256") -> Certifier:
        return cls(issuer, browserid.generate(algorithm))

    @property
    def public_key(self) -> PublicKey:
        return self.key.public

    def well_known(self) -> dict[str, Any]:
        return {
            "public-key": self.public_key.to_json(),
            "authentication": "/.well-known/browserid/warning.html",
            "provisioning": "/.well-known/browserid/warning.html",
        }

    def certify(
        self, device: SecretKey, *, now: float, claims: dict[str, Any], duration: float = 3600
    ) -> str:
        return browserid.issue_certificate(
            self.key,
            issuer=self.issuer,
            public_key=device.public,
            principal={"email": f"user@{self.issuer}"},
            duration=duration,
            now=now,
            claims=claims,
        )


def backed_assertion(
    certificate: str,
    device: SecretKey,
    *,
    now: float,
    audience: str = AUDIENCE,
    duration: float = 120,
) -> str:
    """``cert~assertion`` as a client sends it in ``Authorization: BrowserID …``."""
    assertion = browserid.sign_assertion(device, audience=audience, now=now, duration=duration)
    return browserid.bundle([certificate], assertion)


def fxa_claims(email: str) -> dict[str, Any]:
    return {"fxa-verifiedEmail": email, "fxa-generation": 1, "fxa-lastAuthAt": 1}


def msisdn_claims(number: str) -> dict[str, Any]:
    return {"verifiedMSISDN": number, "lastVerifiedAt": 1, "lastAuthAt": 1}
