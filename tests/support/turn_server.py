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
from collections.abc import Iterator
from pathlib import Path

from loop.media import stun
from tests.support.redis_server import free_port

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
REQUESTED_TRANSPORT = 0x0019
XOR_RELAYED_ADDRESS = 0x0016
UDP = bytes([17, 0, 0, 0])


async def allocate(
    host: str, port: int, username: str, password: str, *, timeout: float = 5.0
) -> stun.Message:
    """A TURN Allocate (RFC 8656) with long-term credentials, done by hand: the first
    request gets 401 with the realm and nonce, the second carries USERNAME, REALM, NONCE and
    MESSAGE-INTEGRITY. Returns coturn's answer to the second (success, or an error whose
    ``error_code`` says why)."""
    async with stun.UdpClient(host, port) as client:
        return await _allocate(client, username, password, timeout)


async def _allocate(
    client: stun.UdpClient, username: str, password: str, timeout: float
) -> stun.Message:
    transport = [(REQUESTED_TRANSPORT, UDP)]
    first = stun.encode(ALLOCATE_REQUEST, stun.transaction_id(), transport)
    challenge = await client.request(first, timeout=timeout)
    assert challenge.error_code == 401, challenge
    realm = challenge.attributes[stun.REALM]
    nonce = challenge.attributes[stun.NONCE]
    attributes = [
        *transport,
        (stun.USERNAME, username.encode()),
        (stun.REALM, realm),
        (stun.NONCE, nonce),
    ]
    key = stun.long_term_key(username, realm.decode(), password)
    second = stun.encode(ALLOCATE_REQUEST, stun.transaction_id(), attributes, integrity_key=key)
    return await client.request(second, timeout=timeout)
