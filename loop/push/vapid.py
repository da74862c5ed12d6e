"""The server's VAPID identity (RFC 8292): one P-256 key pair that signs every Web Push.

Push services may tie a subscription to the key the client passed as
``applicationServerKey`` (which clients read from ``GET /push-server-config`` as
``vapidPublicKey``), so the key must be the same on every process and survive restarts:
it is either configured (``push.vapid_private_key``) or generated once and kept by the
storage like the other generated secrets (see :func:`loop.app.Services.open`).
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02, VapidException

from loop.config import ConfigError

TOKEN_LIFETIME = 12 * 3600
"""Seconds a signed token stays valid. RFC 8292 caps ``exp`` at 24 hours from now; half of
that leaves room for a push service whose clock runs ahead of ours."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Padded or unpadded base64url; ``binascii.Error`` when it is not."""
    stripped = text.strip().rstrip("=")
    return base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))


def generate_private_key() -> str:
    """A fresh key in the form the storage keeps: base64url of the raw 32-byte scalar."""
    key = ec.generate_private_key(ec.SECP256R1())
    return b64url(key.private_numbers().private_value.to_bytes(32, "big"))


def load_private_key(text: str) -> ec.EllipticCurvePrivateKey:
    """Read a P-256 private key given as raw base64url (what we generate, and what
    ``vapid --gen``/web-push tools print), base64url DER, or PEM."""
    try:
        if "-----BEGIN" in text:
            key = serialization.load_pem_private_key(text.encode(), password=None)
        else:
            raw = b64url_decode(text)
            if len(raw) == 32:
                key = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
            else:
                key = serialization.load_der_private_key(raw, password=None)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise ConfigError(f"push.vapid_private_key: not a readable key ({exc})") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ConfigError("push.vapid_private_key: must be a P-256 (secp256r1) EC key")
    return key


def audience(endpoint: str) -> str:
    """The ``aud`` claim: the origin of the push service's endpoint."""
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


class VapidSigner:
    """Signs the ``Authorization: vapid t=<JWT>,k=<public key>`` header of a push message.

    ``clock`` is wall-clock time on purpose, not the app's :class:`~loop.clock.Clock`: the
    token is checked by another party against *its* real clock.
    """

    def __init__(
        self,
        private_key: ec.EllipticCurvePrivateKey,
        subject: str,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._vapid = Vapid02(private_key)
        self.subject = subject
        self._clock = clock
        raw = private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        self.public_key = b64url(raw)
        """URL-safe base64 of the uncompressed point: what browsers take as
        ``applicationServerKey`` and what ``GET /push-server-config`` returns."""

    @classmethod
    def from_text(cls, private_key: str, subject: str) -> VapidSigner:
        return cls(load_private_key(private_key), subject)

    def authorization(self, endpoint: str) -> str:
        """The header value for a message to ``endpoint`` (``ValueError`` if its origin
        cannot be an ``aud`` claim)."""
        claims = {
            "aud": audience(endpoint),
            "exp": int(self._clock()) + TOKEN_LIFETIME,
            "sub": self.subject,
        }
        try:
            headers: dict[str, str] = self._vapid.sign(claims)
        except VapidException as exc:
            raise ValueError(str(exc)) from None
        return headers["Authorization"]
