"""Loopback ports for test servers, safe when several test runs share the machine.

A port found free and then closed can be taken by another process before our server
binds it, and a "dead" port a test expects refusals from can come alive the same way.
So, where we can, we keep the port: :func:`bound_socket` hands an in-process server
(uvicorn) the very socket that reserved it, and :func:`refusing_port` holds a bound
socket that never listens — connections to it are refused for as long as the test
runs. Only subprocesses (``redis-server``, the console commands) still get a number
from :func:`free_port` and bind it themselves.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator


def free_port() -> int:
    """A port nothing listens on right now, for a subprocess to bind."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bound_socket() -> socket.socket:
    """A TCP socket bound to a fresh loopback port, not yet listening: pass it to
    ``uvicorn.Server.serve(sockets=[...])``; the caller closes it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def port_of(sock: socket.socket) -> int:
    return int(sock.getsockname()[1])


@contextlib.contextmanager
def refusing_port() -> Iterator[int]:
    """A loopback port that refuses connections until the block ends: it is bound (so
    no other process can take it) but never listens."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield port_of(sock)
