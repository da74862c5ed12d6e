"""Keyed hashes, tokens and encryption, in one place (loop-api.md §3.1-§3.2, §3.7).

Secrets are hex strings in the configuration and are hex-decoded before use, as the
original did. Comparisons of secrets go through :func:`constant_time_equals`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SESSION_TOKEN_INFO = b"identity.mozilla.com/picl/v1/sessionToken"
ACCOUNT_KEY_INFO = b"account-name"


def hmac_hex(secret_hex: str, message: str, algorithm: str = "sha256") -> str:
    """HMAC keyed with the hex-decoded secret, hex output (an empty secret is allowed)."""
    return hmac.new(bytes.fromhex(secret_hex), message.encode("utf-8"), algorithm).hexdigest()


def constant_time_equals(a: str | bytes, b: str | bytes) -> bool:
    a_bytes = a.encode("utf-8") if isinstance(a, str) else a
    b_bytes = b.encode("utf-8") if isinstance(b, str) else b
    return hmac.compare_digest(a_bytes, b_bytes)


def random_token(nbytes: int) -> str:
    """Unguessable URL-safe token: ``nbytes`` random bytes, base64url without padding."""
    return base64.urlsafe_b64encode(secrets.token_bytes(nbytes)).rstrip(b"=").decode("ascii")


def random_hex(nbytes: int) -> str:
    return secrets.token_hex(nbytes)


def hkdf_sha256(ikm: bytes, info: bytes, length: int, salt: bytes | None = None) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def hawk_credentials(session_token: str) -> tuple[str, str]:
    """``(id, key)`` derived from a 64-hex session token, as Firefox derives them: the key is
    the 64-character hex *string*, used by Hawk as ASCII bytes."""
    derived = hkdf_sha256(bytes.fromhex(session_token), SESSION_TOKEN_INFO, 64)
    return derived[:32].hex(), derived[32:].hex()


def room_account_key(room_token: str, hkdf_salt: str) -> bytes:
    """The key participants' identities are encrypted with, per room (§3.7): the salt is
    used as ASCII text, not hex-decoded, as the original did."""
    return hkdf_sha256(room_token.encode("ascii"), ACCOUNT_KEY_INFO, 32, hkdf_salt.encode())


def session_identity_key(hawk_id: str) -> bytes:
    """The key a session's identity is encrypted with: only the client holding the session
    token can present the Hawk id that decrypts it."""
    return bytes.fromhex(hawk_id)


def encrypt(key: bytes, plaintext: str) -> str:
    """AES-GCM with a random 96-bit nonce, stored as JSON (storage-internal format)."""
    nonce = os.urandom(12)
    ciphertext = AESGCM(key).encrypt(nonce, plaintext.encode("utf-8"), None)
    return json.dumps(
        {
            "cipherText": base64.b64encode(ciphertext).decode("ascii"),
            "nonce": base64.b64encode(nonce).decode("ascii"),
        }
    )


def decrypt(key: bytes, sealed: str) -> str | None:
    """The plaintext, or ``None`` if ``sealed`` was not made with ``key`` (or is corrupt)."""
    try:
        box = json.loads(sealed)
        nonce = base64.b64decode(box["nonce"])
        ciphertext = base64.b64decode(box["cipherText"])
        return AESGCM(key).decrypt(nonce, ciphertext, None).decode("utf-8")
    except (ValueError, KeyError, TypeError, InvalidTag):
        return None


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
