"""The JWS compact container BrowserID uses (msisdn-and-auth.md §2.1).

``base64url(header).base64url(payload).base64url(signature)`` without padding; the header
is only ``{"alg": …}`` and the payload a JSON object. Decoding never verifies: callers
check the signature with the key the chain of trust designates.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from typing import Any

from loop import jsonutil
from loop.browserid.keys import LABEL_ALIASES, PublicKey, SecretKey

MAX_TOKEN_LENGTH = 64_000
"""Longer tokens are refused before decoding (a 2048-bit certificate is ~2 kB)."""


class MalformedToken(ValueError):
    """The text is not a JWS with a JSON-object header and payload."""


@dataclasses.dataclass(frozen=True, slots=True)
class Token:
    """A decoded, not yet verified, JWS."""

    algorithm: str
    payload: dict[str, Any]
    signing_input: bytes
    signature: bytes

    def verified_by(self, key: PublicKey) -> bool:
        """Signed by ``key``, with the algorithm that key implies (no downgrades)."""
        return self.algorithm == key.algorithm and key.verify(self.signing_input, self.signature)


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Unpadded (or padded) base64url; :class:`MalformedToken` otherwise."""
    if not text.isascii():
        raise MalformedToken("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise MalformedToken("not base64url") from None


def encode(payload: dict[str, Any], key: SecretKey) -> str:
    """Sign ``payload`` with ``key``, under the label the key implies."""
    header = b64url_encode(_json_bytes({"alg": key.algorithm}))
    body = b64url_encode(_json_bytes(payload))
    signing_input = f"{header}.{body}".encode("ascii")
    return f"{header}.{body}.{b64url_encode(key.sign(signing_input))}"


def decode(token: str) -> Token:
    """Split and decode a JWS without verifying it."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise MalformedToken("token too long")
    parts = token.split(".")
    if len(parts) != 3:
        raise MalformedToken("a JWS has three parts")
    header = _json_object(b64url_decode(parts[0]))
    algorithm = header.get("alg")
    if not isinstance(algorithm, str):
        raise MalformedToken("the header has no alg")
    return Token(
        algorithm=LABEL_ALIASES.get(algorithm, algorithm),
        payload=_json_object(b64url_decode(parts[1])),
        signing_input=f"{parts[0]}.{parts[1]}".encode("ascii"),
        signature=b64url_decode(parts[2]),
    )


def _json_bytes(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        value = jsonutil.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise MalformedToken("not JSON") from None
    if not isinstance(value, dict):
        raise MalformedToken("not a JSON object")
    return value
