"""A local stand-in Web Push service (RFC 8030) that checks what it receives.

A real HTTPS server on a free loopback port (a :class:`PushServer` with TLS, so its
rules, delays and request log work the same). Like a browser's push service plus the
browser itself, it mints subscriptions whose private keys it keeps, and for each message
it received it:

* decrypts the ``aes128gcm`` body (RFC 8188 / RFC 8291) with its own implementation on
  ``cryptography`` -- not ``http_ece``, which the server uses to encrypt, so a shared
  bug cannot hide;
* verifies the VAPID ``Authorization: vapid t=<JWT>,k=<key>`` (RFC 8292): ES256
  signature by the expected public key, ``aud`` = this server's origin, ``exp`` in the
  future and at most 24 hours away, a ``sub``.

API::

    with WebPushServer() as server:           # server.ca_file: trust it (SSL_CERT_FILE)
        sub = server.subscribe("phone")         # {"endpoint", "keys": {"p256dh", "auth"}}
        ...
        (message,) = await server.messages(1, vapid_public_key)
        message.payload                         # {"topic": "rooms", "version": 123}
        message.claims, message.request.headers

``respond_with``, ``hang``, ``wait_for`` and ``requests`` are :class:`PushServer`'s.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import ipaddress
import json
import os
import ssl
import struct
import tempfile
import time
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.x509.oid import NameOID

from tests.support.push_server import PushRequest, PushServer

MAX_EXP = 24 * 3600


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _hkdf(salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def _public_bytes(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


@dataclasses.dataclass(frozen=True)
class Subscription:
    path: str
    info: dict[str, Any]
    """What the browser hands the server: ``{"endpoint", "keys": {"p256dh", "auth"}}``."""
    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes

    def decrypt(self, body: bytes) -> bytes:
        """RFC 8291 §3.4 key derivation and RFC 8188 §2 decoding (one record)."""
        salt, record_size, id_length = body[:16], *struct.unpack("!IB", body[16:21])
        sender_public = body[21 : 21 + id_length]
        ciphertext = body[21 + id_length :]
        assert id_length == 65 and record_size >= 18, "keyid must be the sender's P-256 key"
        assert len(ciphertext) <= record_size, "one record expected for a small payload"
        sender = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), sender_public)
        shared = self.private_key.exchange(ec.ECDH(), sender)
        receiver_public = _public_bytes(self.private_key.public_key())
        key_info = b"WebPush: info\x00" + receiver_public + sender_public
        ikm = _hkdf(self.auth_secret, shared, key_info, 32)
        cek = _hkdf(salt, ikm, b"Content-Encoding: aes128gcm\x00", 16)
        nonce = _hkdf(salt, ikm, b"Content-Encoding: nonce\x00", 12)
        padded = AESGCM(cek).decrypt(nonce, ciphertext, None)
        content = padded.rstrip(b"\x00")
        assert content.endswith(b"\x02"), "the last record's delimiter must be 0x02"
        return content[:-1]


@dataclasses.dataclass(frozen=True)
class WebPushMessage:
    request: PushRequest
    subscription: Subscription
    payload: dict[str, Any]
    claims: dict[str, Any]


def verify_vapid(authorization: str, public_key: str, audience: str) -> dict[str, Any]:
    """The JWT's claims once its signature and claims are checked (AssertionError else)."""
    scheme, _, params = authorization.partition(" ")
    assert scheme == "vapid", authorization[:20]
    fields = dict(part.strip().split("=", 1) for part in params.split(","))
    assert fields["k"] == public_key, "k must be the key /push-server-config announces"
    header_b64, claims_b64, signature_b64 = fields["t"].split(".")
    assert json.loads(unb64url(header_b64)) == {"typ": "JWT", "alg": "ES256"}
    signature = unb64url(signature_b64)
    assert len(signature) == 64, "ES256 signatures are r || s, 32 bytes each"
    der = utils.encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(public_key))
    key.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    claims: dict[str, Any] = json.loads(unb64url(claims_b64))
    assert claims["aud"] == audience, claims
    now = time.time()
    assert now < claims["exp"] <= now + MAX_EXP, claims
    assert str(claims["sub"]).startswith(("mailto:", "https:")), claims
    return claims


class WebPushServer(PushServer):
    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory()
        self.ca_file = os.path.join(self._tmp.name, "cert.pem")
        """A self-signed certificate for 127.0.0.1: point ``SSL_CERT_FILE`` at it."""
        super().__init__(ssl_context=_self_signed(self.ca_file, self._tmp.name))
        self.subscriptions: dict[str, Subscription] = {}

    def stop(self) -> None:
        super().stop()
        self._tmp.cleanup()

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)

    def subscribe(self, name: str) -> dict[str, Any]:
        """A new subscription at ``/wp/<name>``, as a browser's ``PushManager`` makes."""
        private_key = ec.generate_private_key(ec.SECP256R1())
        auth_secret = os.urandom(16)
        path = f"/wp/{name}"
        info = {
            "endpoint": self.url(path),
            "keys": {
                "p256dh": b64url(_public_bytes(private_key.public_key())),
                "auth": b64url(auth_secret),
            },
        }
        self.subscriptions[path] = Subscription(path, info, private_key, auth_secret)
        return info

    def open(self, request: PushRequest, vapid_public_key: str) -> WebPushMessage:
        """Check one received request as a push service and a browser would."""
        assert request.method == "POST", request.method
        subscription = self.subscriptions[request.path]
        headers = request.headers
        assert headers["content-encoding"] == "aes128gcm"
        assert int(headers["ttl"]) >= 0
        claims = verify_vapid(headers["authorization"], vapid_public_key, self.origin)
        payload = json.loads(subscription.decrypt(request.body))
        return WebPushMessage(request, subscription, payload, claims)

    async def messages(
        self, n: int, vapid_public_key: str, timeout: float = 5.0
    ) -> list[WebPushMessage]:
        """The first ``n`` requests, each checked and decrypted."""
        requests = await self.wait_for(n, timeout=timeout)
        return [self.open(request, vapid_public_key) for request in requests]


def _self_signed(cert_file: str, folder: str) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "web push stand-in")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_file = os.path.join(folder, "key.pem")
    with open(cert_file, "wb") as out:
        out.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_file, "wb") as out:
        out.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context
