"""Web Push (RFC 8030) with encrypted payloads (RFC 8291) signed by VAPID (RFC 8292), D17.

A message is ``POST <endpoint>`` whose body is the JSON ``{"topic", "version"}``
encrypted with ``aes128gcm`` for the subscription's ``p256dh`` key and ``auth`` secret.

Why not ``pywebpush.webpush()``: it sends with ``requests``, which blocks; in a worker
thread it would escape the notifier's time limit (a thread cannot be cancelled) and
cost a thread per delivery in flight. So this sender does the two pieces of
cryptography with the libraries pywebpush itself is built on — ``http_ece`` encrypts,
``py_vapid`` signs — and sends with the shared ``httpx.AsyncClient``: deliveries stay
async, pooled, cancellable and bounded by ``push.timeout`` like SimplePush ones.
"""

from __future__ import annotations

import binascii
import json
import os
from collections.abc import Mapping
from typing import Any

import http_ece
import httpx
from cryptography.hazmat.primitives.asymmetric import ec

from loop.clock import Clock
from loop.push.base import Delivery, Sender
from loop.push.vapid import VapidSigner, b64url_decode
from loop.storage import PushTarget, Topic

URGENCY: Mapping[Topic, str] = {"calls": "high", "rooms": "normal"}
"""RFC 8030 §5.3: an incoming call should wake a sleeping phone; a room change can wait."""


def payload(topic: Topic, version: int) -> bytes:
    """The clear text of a message: what SimplePush said with ``version=<n>``, plus the
    topic, since one Web Push subscription may serve both topics."""
    return json.dumps({"topic": topic, "version": version}, separators=(",", ":")).encode()


def encrypt(plaintext: bytes, subscription: Mapping[str, Any]) -> bytes:
    """``aes128gcm`` content coding for the subscription (RFC 8291 §4): a fresh ephemeral
    key and salt per message; the header carries our ephemeral public key as ``keyid``.

    Raises ``ValueError`` when the subscription's keys are unusable (not a P-256 point,
    not base64url): a malformed registration fails its delivery, never the request.
    """
    keys = subscription["keys"]
    try:
        receiver = b64url_decode(keys["p256dh"])
        auth_secret = b64url_decode(keys["auth"])
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), receiver)
    except (KeyError, TypeError, binascii.Error) as exc:
        raise ValueError(f"unusable Web Push subscription keys: {exc!r}") from None
    body: bytes = http_ece.encrypt(
        plaintext,
        salt=os.urandom(16),
        private_key=ec.generate_private_key(ec.SECP256R1()),
        dh=receiver,
        auth_secret=auth_secret,
        version="aes128gcm",
    )
    return body


class WebPushSender(Sender):
    kind = "webpush"
    forgets_gone = True

    def __init__(
        self,
        http: httpx.AsyncClient,
        signer: VapidSigner,
        *,
        ttl: int,
        clock: Clock,
    ) -> None:
        self.http = http
        self.signer = signer
        self.ttl = ttl
        self.clock = clock

    async def send(self, target: PushTarget, *, topic: Topic, version: int) -> Delivery:
        if not isinstance(target, Mapping) or not isinstance(target.get("endpoint"), str):
            raise TypeError("a Web Push target is a subscription object")
        endpoint: str = target["endpoint"]
        headers = {
            "Authorization": self.signer.authorization(endpoint),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(self.ttl),
            "Urgency": URGENCY[topic],
            # RFC 8030 §5.4: a newer message on the same topic replaces one not yet
            # delivered; only the latest version matters to a device that was offline.
            "Topic": topic,
        }
        body = encrypt(payload(topic, version), target)
        response = await self.http.post(endpoint, content=body, headers=headers)
        return Delivery.from_response(response, now=self.clock.now())
