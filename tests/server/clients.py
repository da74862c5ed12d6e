"""A real server under a low open-file limit, and the slow clients that used to take it down.

The server is the console command (``loop-server`` or ``loop-msisdn``) in a subprocess on a
free port, SQLite in the test's directory. Slow clients are raw sockets: they send part of
a request and then nothing; the tests wait for the server to close them (EOF), never for
a fixed time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import selectors
import socket
import subprocess
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import requests

from tests.support.ports import free_port
from tests.support.servers import console_command

FILE_LIMIT = 256
"""``ulimit -n`` of the servers under test: with the default 128 reserved files, 128
connections at most."""

PARTIAL_HEADERS = b"GET /__lbheartbeat__ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
"""A request whose headers never end."""


def plain_answer(status: int, phrase: bytes) -> bytes:
    """What the server sends when it refuses a connection itself (408, 503)."""
    return (
        b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\n"
        b"content-length: %d\r\nconnection: close\r\n\r\n%s"
        % (status, phrase, len(phrase), phrase)
    )


TIMED_OUT = plain_answer(408, b"Request Timeout")
UNAVAILABLE = plain_answer(503, b"Service Unavailable")


@dataclasses.dataclass(frozen=True)
class Server:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextlib.contextmanager
def loop_server(
    tmp_path: Path,
    *,
    file_limit: int = FILE_LIMIT,
    settings: Mapping[str, str] | None = None,
    **server: object,
) -> Iterator[Server]:
    """``loop-server`` with ``[server]`` settings from ``server`` (``header_timeout=2``)
    and other settings as environment variables in ``settings``."""
    port = free_port()
    env = {
        "LOOP_PORT": str(port),
        "LOOP_DATA_DIR": str(tmp_path / "data"),
        "LOOP_STORAGE__URL": f"sqlite:///{tmp_path / 'loop.db'}",
        "LOOP_PUSH_SERVER_URIS": "[]",
        "LOOP_FXA_VERIFIER": "",
    } | {f"LOOP_SERVER__{name.upper()}": str(value) for name, value in server.items()}
    env |= settings or {}
    log = tmp_path / f"loop-{port}.log"
    with console_command("loop-server", port, log, env, file_limit=file_limit) as process:
        yield Server(port, process, log)


@contextlib.contextmanager
def msisdn_server(tmp_path: Path, **server: object) -> Iterator[Server]:
    """``loop-msisdn`` (SMS written to its log, test environment) with ``[server]`` settings."""
    port = free_port()
    env = {
        "MSISDN_PORT": str(port),
        "MSISDN_ENV": "test",
        "MSISDN_DATA_DIR": str(tmp_path / "msisdn-data"),
        "MSISDN_STORAGE__URL": f"sqlite:///{tmp_path / 'msisdn.db'}",
        "MSISDN_SMS_GATEWAYS__LOG__PRIORITY": "1",
    } | {f"MSISDN_SERVER__{name.upper()}": str(value) for name, value in server.items()}
    log = tmp_path / f"msisdn-{port}.log"
    with console_command("loop-msisdn", port, log, env, file_limit=FILE_LIMIT) as process:
        yield Server(port, process, log)


def open_socket(port: int, data: bytes = b"") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    if data:
        sock.sendall(data)
    return sock


def read_until_closed(sock: socket.socket, timeout: float) -> bytes:
    """Everything the server sends until it closes the connection; AssertionError if it
    is still open after ``timeout`` seconds."""
    closed = wait_until_closed([sock], count=1, timeout=timeout)
    return closed[sock]


def wait_until_closed(
    sockets: Iterable[socket.socket], *, count: int, timeout: float
) -> dict[socket.socket, bytes]:
    """Wait until the server has closed at least ``count`` of ``sockets``; what each closed
    one received. AssertionError naming how many closed if the deadline passes first."""
    received: dict[socket.socket, bytearray] = {}
    closed: dict[socket.socket, bytes] = {}
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        for sock in sockets:
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ)
            received[sock] = bytearray()
        while len(closed) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{len(closed)} of {count} connections closed in {timeout}s")
            for key, _ in selector.select(left):
                ready = key.fileobj
                assert isinstance(ready, socket.socket)
                try:
                    chunk = ready.recv(65536)
                except ConnectionResetError:
                    chunk = b""
                if chunk:
                    received[ready] += chunk
                else:
                    selector.unregister(ready)
                    closed[ready] = bytes(received[ready])
    return closed


def timed_get(url: str, **headers: str) -> tuple[requests.Response, float]:
    """A real client's request on a fresh connection, and how long its answer took."""
    started = time.monotonic()
    response = requests.get(url, headers={"Connection": "close", **headers}, timeout=10)
    return response, time.monotonic() - started


class Sockets(contextlib.ExitStack):
    """Client sockets closed together when the block ends, however it ends."""

    def open(self, port: int, data: bytes = b"") -> socket.socket:
        return self.enter_context(open_socket(port, data))
