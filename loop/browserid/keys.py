"""BrowserID key objects (msisdn-and-auth.md §2.1, §2.3) on top of ``cryptography``.

BrowserID predates JOSE: keys travel as ``{"algorithm": "RS", "n", "e"}`` (decimal) or
``{"algorithm": "DS", "y", "p", "q", "g"}`` (lowercase hex), and the JWS ``alg`` label is
not chosen but *derived* from the key size (``RS256`` for a 2048-bit modulus, ``DS128``
for a 1024-bit DSA group...). A verifier must refuse a header whose label differs from
the one its key implies, so the label lives with the key here.

Every parsing error is a :class:`KeyFormatError` whatever went wrong inside, so that
hostile input can only ever produce that one exception.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

RSA_LABELS = {512: "RS64", 1024: "RS128", 2048: "RS256"}
"""Modulus size → label (±1 bit tolerated). All three hash with SHA-256."""
DSA_LABELS = {1024: "DS128", 2048: "DS256"}
"""Group size (bits of ``p``) → label."""
DSA_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"DS128": hashes.SHA1, "DS256": hashes.SHA256}
LABEL_ALIASES = {"DS160": "DS128"}
"""browserid-crypto once labelled the 1024/160 group ``DS160``; treat it as ``DS128``."""
MAX_NUMBER_DIGITS = 1300
"""Longest decimal/hex number accepted, so hostile keys cannot make us parse megabytes."""


class KeyFormatError(ValueError):
    """The object is not a usable BrowserID key (shape, encoding, size or maths)."""


@dataclasses.dataclass(frozen=True, slots=True)
class PublicKey:
    """A verifying key and the JWS algorithm label it implies."""

    algorithm: str
    key: rsa.RSAPublicKey | dsa.DSAPublicKey

    def verify(self, data: bytes, signature: bytes) -> bool:
        """Whether ``signature`` (BrowserID raw form) signs ``data`` with this key."""
        try:
            if isinstance(self.key, rsa.RSAPublicKey):
                self.key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
            else:
                size = _dsa_q_bytes(self.key.parameters().parameter_numbers())
                if len(signature) != 2 * size:
                    return False
                r = int.from_bytes(signature[:size], "big")
                s = int.from_bytes(signature[size:], "big")
                der = encode_dss_signature(r, s)
                self.key.verify(der, data, DSA_HASHES[self.algorithm]())
        except (InvalidSignature, ValueError):
            return False
        return True

    def to_json(self) -> dict[str, str]:
        """The normalised key object (what certificates and support documents carry)."""
        if isinstance(self.key, rsa.RSAPublicKey):
            numbers = self.key.public_numbers()
            return {"algorithm": "RS", "n": str(numbers.n), "e": str(numbers.e)}
        public = self.key.public_numbers()
        return {"algorithm": "DS", "y": _hex(public.y), **_dsa_params_json(public)}


@dataclasses.dataclass(frozen=True, slots=True)
class SecretKey:
    """A signing key; its public half is :attr:`public`."""

    algorithm: str
    key: rsa.RSAPrivateKey | dsa.DSAPrivateKey

    @property
    def public(self) -> PublicKey:
        return PublicKey(self.algorithm, self.key.public_key())

    def sign(self, data: bytes) -> bytes:
        if isinstance(self.key, rsa.RSAPrivateKey):
            return self.key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        der = self.key.sign(data, DSA_HASHES[self.algorithm]())
        r, s = decode_dss_signature(der)
        size = _dsa_q_bytes(self.key.parameters().parameter_numbers())
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")

    def to_json(self) -> dict[str, str]:
        """The secret key object: RS adds ``d``; DS has ``x`` instead of ``y``."""
        if isinstance(self.key, rsa.RSAPrivateKey):
            numbers = self.key.private_numbers()
            public = numbers.public_numbers
            return {"algorithm": "RS", "n": str(public.n), "e": str(public.e), "d": str(numbers.d)}
        private = self.key.private_numbers()
        return {
            "algorithm": "DS",
            "x": _hex(private.x),
            **_dsa_params_json(private.public_numbers),
        }


def generate(algorithm: str = "DS256") -> SecretKey:
    """A fresh key pair for ``RS256``, ``RS128``, ``DS256`` or ``DS128`` (random DSA group)."""
    algorithm = LABEL_ALIASES.get(algorithm, algorithm)
    if algorithm in ("RS128", "RS256"):
        bits = 1024 if algorithm == "RS128" else 2048
        return SecretKey(algorithm, rsa.generate_private_key(65537, bits))
    if algorithm in DSA_HASHES:
        bits = 1024 if algorithm == "DS128" else 2048
        return SecretKey(algorithm, dsa.generate_private_key(bits))
    raise KeyFormatError(f"cannot generate {algorithm!r} keys")


def public_key_from_json(data: Any) -> PublicKey:
    """Parse a public key object; :class:`KeyFormatError` on anything unusable."""
    obj = _object(data)
    try:
        if obj.get("algorithm") == "RS":
            rsa_key = rsa.RSAPublicNumbers(_int(obj, "e", 10), _int(obj, "n", 10)).public_key()
            return PublicKey(_rsa_label(rsa_key.key_size), rsa_key)
        if obj.get("algorithm") == "DS":
            params = _dsa_params(obj)
            label = _dsa_label(params)
            dsa_key = dsa.DSAPublicNumbers(_int(obj, "y", 16), params).public_key()
            return PublicKey(label, dsa_key)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyFormatError(str(exc) or "invalid key") from None
    raise KeyFormatError("algorithm must be 'RS' or 'DS'")


def secret_key_from_json(data: Any) -> SecretKey:
    """Parse a secret key object (RS: ``n``, ``e``, ``d``; DS: ``x``, ``p``, ``q``, ``g``)."""
    obj = _object(data)
    try:
        if obj.get("algorithm") == "RS":
            return _rsa_secret(_int(obj, "n", 10), _int(obj, "e", 10), _int(obj, "d", 10))
        if obj.get("algorithm") == "DS":
            params = _dsa_params(obj)
            label = _dsa_label(params)
            x = _int(obj, "x", 16)
            public = dsa.DSAPublicNumbers(pow(params.g, x, params.p), params)
            key = dsa.DSAPrivateNumbers(x, public).private_key()
            return SecretKey(label, key)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyFormatError(str(exc) or "invalid key") from None
    raise KeyFormatError("algorithm must be 'RS' or 'DS'")


def _rsa_secret(n: int, e: int, d: int) -> SecretKey:
    p, q = rsa.rsa_recover_prime_factors(n, e, d)
    numbers = rsa.RSAPrivateNumbers(
        p=p,
        q=q,
        d=d,
        dmp1=rsa.rsa_crt_dmp1(d, p),
        dmq1=rsa.rsa_crt_dmq1(d, q),
        iqmp=rsa.rsa_crt_iqmp(p, q),
        public_numbers=rsa.RSAPublicNumbers(e, n),
    )
    key = numbers.private_key()
    return SecretKey(_rsa_label(key.key_size), key)


def _object(data: Any) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise KeyFormatError("a key must be a JSON object")
    return data


def _int(obj: Mapping[str, Any], name: str, base: int) -> int:
    """A number serialised as a string (decimal for RSA, hex for DSA), bounded in size."""
    value = obj.get(name)
    if not isinstance(value, str) or not 0 < len(value) <= MAX_NUMBER_DIGITS:
        raise KeyFormatError(f"{name} must be a non-empty string")
    if not value.isascii() or not value.isalnum():
        raise KeyFormatError(f"{name} is not a base-{base} number")
    try:
        return int(value, base)
    except ValueError:
        raise KeyFormatError(f"{name} is not a base-{base} number") from None


def _dsa_params(obj: Mapping[str, Any]) -> dsa.DSAParameterNumbers:
    return dsa.DSAParameterNumbers(_int(obj, "p", 16), _int(obj, "q", 16), _int(obj, "g", 16))


def _rsa_label(bits: int) -> str:
    for size, label in RSA_LABELS.items():
        if abs(bits - size) <= 1:
            return label
    raise KeyFormatError(f"unsupported RSA modulus size {bits}")


def _dsa_label(params: dsa.DSAParameterNumbers) -> str:
    label = DSA_LABELS.get(params.p.bit_length())
    if label is None:
        raise KeyFormatError(f"unsupported DSA group size {params.p.bit_length()}")
    return label


def _dsa_q_bytes(params: dsa.DSAParameterNumbers) -> int:
    return (params.q.bit_length() + 7) // 8


def _dsa_params_json(public: dsa.DSAPublicNumbers) -> dict[str, str]:
    params = public.parameter_numbers
    return {"p": _hex(params.p), "q": _hex(params.q), "g": _hex(params.g)}


def _hex(number: int) -> str:
    return format(number, "x")
