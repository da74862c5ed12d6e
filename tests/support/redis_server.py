"""A real ``redis-server`` on a free loopback port, owned by the test (or the session).

Tests never rely on a Redis that happens to run on the machine: this starts one (no
persistence, keyspace events on) and kills it at the end. Without the binary the run
fails loudly with the command that installs it. Outage tests hold the
:class:`RedisServer` itself, to freeze it (``SIGSTOP``), thaw it, kill it and start it
again on the same port.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Sequence

from tests.support.ports import free_port
from tests.support.waiting import eventually_blocking


class RedisServer:
    """One ``redis-server`` process at a fixed port, restartable."""

    def __init__(self, binary: str, port: int, workdir: str, *, extra: Sequence[str] = ()) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self._command = [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
            "--notify-keyspace-events",
            "Ex",
            *extra,
        ]
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self._process is not None

    def start(self) -> None:
        """Start the server (again) and return once it listens."""
        process = subprocess.Popen(
            self._command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self._process = process
        _wait_for_port(self.port, process)

    def freeze(self) -> None:
        """``SIGSTOP``: the kernel still accepts connections, nothing answers."""
        os.kill(self._running().pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self._running().pid, signal.SIGCONT)

    def kill(self) -> None:
        """``SIGKILL``, as a crash: every connection is reset and the data is gone."""
        process = self._running()
        process.kill()
        process.wait(timeout=10)
        self._process = None

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            os.kill(process.pid, signal.SIGCONT)  # a frozen server cannot act on SIGTERM
            process.terminate()
            process.wait(timeout=10)

    def _running(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            raise RuntimeError("redis-server is not running")
        return self._process


@contextlib.contextmanager
def redis_process() -> Iterator[RedisServer]:
    """A started :class:`RedisServer`, stopped afterwards whatever state it was left in."""
    binary = redis_binary()
    with tempfile.TemporaryDirectory(prefix="loop-redis-") as workdir:
        server = RedisServer(binary, free_port(), workdir)
        server.start()
        try:
            yield server
        finally:
            server.stop()


def redis_binary() -> str:
    """The ``redis-server`` on the path; without it the run fails saying how to install it."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError(
            "redis-server is not installed; run `sudo apt-get install redis-server` "
            "(scripts/test installs it for you)"
        )
    return binary


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """Yield ``redis://127.0.0.1:<port>/0`` for a fresh server; stop it afterwards."""
    with redis_process() as server:
        yield server.url


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    def listening() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with code {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return True
        return False

    eventually_blocking(listening, what=f"redis-server on port {port}")
