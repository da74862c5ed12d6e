"""A real ``redis-server`` on a free loopback port, owned by the test session.

Tests never rely on a Redis that happens to run on the machine: this starts one (no
persistence, keyspace events on) and kills it at the end. Without the binary the run
fails loudly with the command that installs it.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator

from tests.support.ports import free_port
from tests.support.waiting import eventually_blocking


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """Yield ``redis://127.0.0.1:<port>/0`` for a fresh server; stop it afterwards."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError(
            "redis-server is not installed; run `sudo apt-get install redis-server` "
            "(scripts/test installs it for you)"
        )
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="loop-redis-") as workdir:
        process = subprocess.Popen(
            [
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
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_for_port(port, process)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.terminate()
            process.wait(timeout=10)


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    def listening() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with code {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return True
        return False

    eventually_blocking(listening, what=f"redis-server on port {port}")
