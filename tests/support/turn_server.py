"""A real coturn (``/usr/bin/turnserver``) on loopback, for tests of TURN credentials.

Started on a free port with the time-limited shared-secret scheme (``--use-auth-secret
--static-auth-secret=...``), no configuration file (``-n``), no TLS, no CLI, its log, pid
and user database in the test's temporary directory, relaying on 127.0.0.1 only (and to
loopback peers, so two local peers can talk through it). Readiness is a STUN Binding
request answered, not a sleep. Usable from sync and async tests::

    with turn_server(tmp_path, secret="s3cret") as turn:
        turn.url          # "turn:127.0.0.1:<port>?transport=udp"
        turn.stun_url     # "stun:127.0.0.1:<port>"
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from loop.media import stun
from tests.support.ports import free_port

TURNSERVER = "/usr/bin/turnserver"
START_TIMEOUT = 15.0
REALM = "loop.test"


@dataclasses.dataclass(frozen=True)
class TurnServer:
    port: int
    secret: str
    realm: str
    log_path: Path

    @property
    def url(self) -> str:
        return f"turn:127.0.0.1:{self.port}?transport=udp"

    @property
    def tcp_url(self) -> str:
        return f"turn:127.0.0.1:{self.port}?transport=tcp"

    @property
    def stun_url(self) -> str:
        return f"stun:127.0.0.1:{self.port}"


@contextlib.contextmanager
def turn_server(directory: Path, *, secret: str = "turn-test-secret") -> Iterator[TurnServer]:
    """Run coturn until the block ends; fails (never skips) when it is not installed."""
    if shutil.which(TURNSERVER) is None:
        raise AssertionError(
            f"{TURNSERVER} is missing: apt-get install coturn (scripts/test does)"
        )
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    relay_low = free_port()
    log_path = directory / "turnserver.log"
    command = [
        TURNSERVER,
        "-n",
        "--listening-ip=127.0.0.1",
        "--relay-ip=127.0.0.1",
        f"--listening-port={port}",
        f"--min-port={relay_low}",
        f"--max-port={relay_low + 200}",
        "--use-auth-secret",
        f"--static-auth-secret={secret}",
        f"--realm={REALM}",
        "--fingerprint",
        "--no-cli",
        "--no-tls",
        "--no-dtls",
        "--allow-loopback-peers",
        "--no-stdout-log",
        "--simple-log",
        f"--log-file={log_path}",
        f"--pidfile={directory / 'turnserver.pid'}",
        f"--db={directory / 'turndb'}",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        _wait_until_answering(port, process, log_path)
        yield TurnServer(port, secret, REALM, log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_answering(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    request = stun.encode(stun.BINDING_REQUEST, stun.transaction_id(), [])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.settimeout(0.2)
        while time.monotonic() < deadline:
            if process.poll() is not None:
                text = log.read_text(errors="replace") if log.exists() else ""
                raise AssertionError(f"turnserver exited with {process.returncode}: {text}")
            udp.sendto(request, ("127.0.0.1", port))
            with contextlib.suppress(OSError):
                answer = stun.decode(udp.recv(2048))
                if answer.type == stun.BINDING_SUCCESS:
                    return
    raise AssertionError(f"turnserver did not answer on port {port} within {START_TIMEOUT:.0f} s")


ALLOCATE_REQUEST = 0x0003
ALLOCATE_SUCCESS = 0x0103
CREATE_PERMISSION_REQUEST = 0x0008
CREATE_PERMISSION_SUCCESS = 0x0108
SEND_INDICATION = 0x0016
DATA_INDICATION = 0x0017
REQUESTED_TRANSPORT = 0x0019
XOR_PEER_ADDRESS = 0x0012
DATA = 0x0013
XOR_RELAYED_ADDRESS = 0x0016
UDP = bytes([17, 0, 0, 0])


def xor_address(host: str, port: int) -> bytes:
    """An IPv4 XOR-*-ADDRESS value (RFC 8489 §14.2)."""
    packed = socket.inet_aton(host)
    cookie = stun.MAGIC_COOKIE.to_bytes(4, "big")
    xored = bytes(a ^ b for a, b in zip(packed, cookie, strict=True))
    return bytes([0, 1]) + (port ^ (stun.MAGIC_COOKIE >> 16)).to_bytes(2, "big") + xored


def read_xor_address(value: bytes) -> tuple[str, int]:
    port = int.from_bytes(value[2:4], "big") ^ (stun.MAGIC_COOKIE >> 16)
    cookie = stun.MAGIC_COOKIE.to_bytes(4, "big")
    host = socket.inet_ntoa(bytes(a ^ b for a, b in zip(value[4:8], cookie, strict=True)))
    return host, port


class TurnClient:
    """A TURN client done by hand over one UDP socket (TURN nonces are bound to it):
    ``allocate`` with long-term credentials (the first request gets 401 with the realm and
    nonce, the second carries USERNAME, REALM, NONCE and MESSAGE-INTEGRITY), then
    ``permit`` a peer, ``send`` it data through the relay and ``receive`` its answers."""

    def __init__(self, client: stun.UdpClient, username: str, password: str) -> None:
        self._client = client
        self._username = username
        self._password = password
        self._realm = b""
        self._nonce = b""
        self.relayed: tuple[str, int] | None = None

    async def allocate(self, *, timeout: float = 5.0) -> stun.Message:
        """coturn's answer: success (``relayed`` is then set) or an error."""
        transport = [(REQUESTED_TRANSPORT, UDP)]
        first = stun.encode(ALLOCATE_REQUEST, stun.transaction_id(), transport)
        challenge = await self._client.request(first, timeout=timeout)
        assert challenge.error_code == 401, challenge
        self._realm = challenge.attributes[stun.REALM]
        self._nonce = challenge.attributes[stun.NONCE]
        answer = await self._signed(ALLOCATE_REQUEST, transport, timeout)
        if answer.type == ALLOCATE_SUCCESS:
            self.relayed = read_xor_address(answer.attributes[XOR_RELAYED_ADDRESS])
        return answer

    async def permit(self, host: str, port: int, *, timeout: float = 5.0) -> stun.Message:
        peer = [(XOR_PEER_ADDRESS, xor_address(host, port))]
        return await self._signed(CREATE_PERMISSION_REQUEST, peer, timeout)

    def send(self, host: str, port: int, data: bytes) -> None:
        attributes = [(XOR_PEER_ADDRESS, xor_address(host, port)), (DATA, data)]
        self._client.send(stun.encode(SEND_INDICATION, stun.transaction_id(), attributes))

    async def receive(self, *, timeout: float = 5.0) -> tuple[tuple[str, int], bytes]:
        """The next Data indication: who sent it to the relayed address, and what."""
        while True:
            message = await self._client.unsolicited(timeout=timeout)
            if message.type == DATA_INDICATION:
                peer = read_xor_address(message.attributes[XOR_PEER_ADDRESS])
                return peer, message.attributes[DATA]

    async def _signed(
        self, kind: int, attributes: list[tuple[int, bytes]], timeout: float
    ) -> stun.Message:
        signed = [
            *attributes,
            (stun.USERNAME, self._username.encode()),
            (stun.REALM, self._realm),
            (stun.NONCE, self._nonce),
        ]
        key = stun.long_term_key(self._username, self._realm.decode(), self._password)
        message = stun.encode(kind, stun.transaction_id(), signed, integrity_key=key)
        return await self._client.request(message, timeout=timeout)


@contextlib.asynccontextmanager
async def turn_client(
    host: str, port: int, username: str, password: str
) -> AsyncIterator[TurnClient]:
    async with stun.UdpClient(host, port) as client:
        yield TurnClient(client, username, password)


async def allocate(
    host: str, port: int, username: str, password: str, *, timeout: float = 5.0
) -> stun.Message:
    """Just an Allocate: coturn's answer to the authenticated request."""
    async with turn_client(host, port, username, password) as client:
        return await client.allocate(timeout=timeout)
