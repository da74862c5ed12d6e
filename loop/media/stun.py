"""Just enough STUN (RFC 8489) to ask a STUN or TURN server whether it is there.

The ``webrtc`` provider's heartbeat sends a Binding request to the configured server and
waits for the answer; the test suite builds TURN Allocate requests (RFC 8656) with the same
codec to prove the credentials it hands out are accepted by a real coturn. Messages are
built and parsed here, byte by byte, instead of pulling in a whole ICE stack.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import secrets
import struct
from urllib.parse import urlsplit

MAGIC_COOKIE = 0x2112A442
HEADER = struct.Struct("!HHI12s")

BINDING_REQUEST = 0x0001
BINDING_SUCCESS = 0x0101

USERNAME = 0x0006
MESSAGE_INTEGRITY = 0x0008
ERROR_CODE = 0x0009
REALM = 0x0014
NONCE = 0x0015
XOR_MAPPED_ADDRESS = 0x0020

DEFAULT_PORT = 3478


@dataclasses.dataclass(frozen=True, slots=True)
class Message:
    type: int
    transaction_id: bytes
    attributes: dict[int, bytes]
    """The first value of each attribute type (enough for the answers read here)."""

    @property
    def error_code(self) -> int | None:
        value = self.attributes.get(ERROR_CODE)
        if value is None or len(value) < 4:
            return None
        return (value[2] & 0x7) * 100 + value[3]


def transaction_id() -> bytes:
    return secrets.token_bytes(12)


def encode(
    message_type: int,
    transaction: bytes,
    attributes: list[tuple[int, bytes]],
    *,
    integrity_key: bytes | None = None,
) -> bytes:
    """A STUN message; with ``integrity_key`` it ends with MESSAGE-INTEGRITY (HMAC-SHA1 of
    everything before it, the header's length already counting the attribute)."""
    body = b"".join(_attribute(kind, value) for kind, value in attributes)
    if integrity_key is None:
        return HEADER.pack(message_type, len(body), MAGIC_COOKIE, transaction) + body
    header = HEADER.pack(message_type, len(body) + 24, MAGIC_COOKIE, transaction)
    digest = hmac.new(integrity_key, header + body, hashlib.sha1).digest()
    return header + body + _attribute(MESSAGE_INTEGRITY, digest)


def decode(data: bytes) -> Message:
    """Parse a STUN message; raises ValueError when ``data`` is not one."""
    if len(data) < HEADER.size:
        raise ValueError("shorter than a STUN header")
    message_type, length, cookie, transaction = HEADER.unpack_from(data)
    if cookie != MAGIC_COOKIE or length != len(data) - HEADER.size:
        raise ValueError("not a STUN message")
    attributes: dict[int, bytes] = {}
    offset = HEADER.size
    while offset + 4 <= len(data):
        kind, size = struct.unpack_from("!HH", data, offset)
        value = data[offset + 4 : offset + 4 + size]
        if len(value) != size:
            raise ValueError("truncated STUN attribute")
        attributes.setdefault(kind, value)
        offset += 4 + size + (-size % 4)
    return Message(message_type, transaction, attributes)


def long_term_key(username: str, realm: str, password: str) -> bytes:
    """The key of the long-term credential mechanism: MD5(username:realm:password)."""
    return hashlib.md5(f"{username}:{realm}:{password}".encode()).digest()


def server_address(url: str) -> tuple[str, int]:
    """``(host, port)`` of a ``stun:``/``turn:`` URL (``turn:host:3478?transport=udp``)."""
    scheme, _, rest = url.partition(":")
    parsed = urlsplit(f"{scheme}://{rest.split('?', 1)[0]}")
    if not parsed.hostname:
        raise ValueError(f"no host in {url!r}")
    return parsed.hostname, parsed.port or DEFAULT_PORT


class UdpClient:
    """One UDP socket to one server, for a series of requests: TURN nonces are bound to
    the client's address and port, so an Allocate and its retry must share the socket."""

    def __init__(self, host: str, port: int) -> None:
        self._remote = (host, port)
        self._transport: asyncio.DatagramTransport | None = None
        self._protocol = _Answers()

    async def __aenter__(self) -> UdpClient:
        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.create_datagram_endpoint(
            lambda: self._protocol, remote_addr=self._remote
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._transport is not None:
            self._transport.close()

    async def request(self, message: bytes, *, timeout: float) -> Message:
        """Send ``message`` and return the answer with its transaction id; re-sent every
        half second while unanswered. Raises TimeoutError or OSError."""
        assert self._transport is not None, "use the client as an async context manager"
        answer = self._protocol.expect(message[8:20])
        try:
            async with asyncio.timeout(timeout):
                while True:
                    self._transport.sendto(message)
                    done, _ = await asyncio.wait({answer}, timeout=0.5)
                    if done:
                        return answer.result()
        finally:
            self._protocol.forget(message[8:20])

    def send(self, message: bytes) -> None:
        """Send without waiting for an answer (indications)."""
        assert self._transport is not None, "use the client as an async context manager"
        self._transport.sendto(message)

    async def unsolicited(self, *, timeout: float) -> Message:
        """The next message that answered no request (a TURN Data indication)."""
        return await asyncio.wait_for(self._protocol.unsolicited.get(), timeout)


async def exchange(host: str, port: int, request: bytes, *, timeout: float) -> Message:
    """One request and its answer, on a socket of its own."""
    async with UdpClient(host, port) as client:
        return await client.request(request, timeout=timeout)


async def binding(host: str, port: int, *, timeout: float) -> Message:
    """A Binding request answered with success; raises ValueError on an error answer."""
    answer = await exchange(
        host, port, encode(BINDING_REQUEST, transaction_id(), []), timeout=timeout
    )
    if answer.type != BINDING_SUCCESS:
        raise ValueError(f"binding refused (error {answer.error_code})")
    return answer


class _Answers(asyncio.DatagramProtocol):
    """Routes answers to the requests waiting for their transaction id."""

    def __init__(self) -> None:
        self._waiting: dict[bytes, asyncio.Future[Message]] = {}
        self.unsolicited: asyncio.Queue[Message] = asyncio.Queue(maxsize=64)

    def expect(self, transaction: bytes) -> asyncio.Future[Message]:
        future = asyncio.get_running_loop().create_future()
        self._waiting[transaction] = future
        return future

    def forget(self, transaction: bytes) -> None:
        self._waiting.pop(transaction, None)

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        try:
            message = decode(data)
        except ValueError:
            return
        future = self._waiting.get(message.transaction_id)
        if future is None:
            if not self.unsolicited.full():
                self.unsolicited.put_nowait(message)
        elif not future.done():
            future.set_result(message)

    def error_received(self, exc: Exception) -> None:
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(exc)


def _attribute(kind: int, value: bytes) -> bytes:
    return struct.pack("!HH", kind, len(value)) + value + b"\0" * (-len(value) % 4)
