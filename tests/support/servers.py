"""The package's console commands (``loop-server``, ``loop-msisdn``) run for real.

End-to-end tests start them as subprocesses on free loopback ports, with an environment
cleaned of any ``LOOP_``/``MSISDN_`` variable the developer may have set, wait until they
listen, and stop them with SIGINT (as an operator would) so their shutdown runs too.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from tests.support.waiting import eventually_blocking

START_TIMEOUT = 30.0


@contextlib.contextmanager
def console_command(
    command: str,
    port: int,
    log_path: Path,
    env: Mapping[str, str],
    *,
    file_limit: int | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` (installed next to this Python) until the block ends; its output
    goes to ``log_path``, shown in the failure if it exits during start-up. ``file_limit``
    lowers its open-file limit (``ulimit -n``), soft and hard."""
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith(("LOOP_", "MSISDN_"))
    } | dict(env)
    executable = Path(sys.executable).parent / command
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(executable)],
            env=environ,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=None if file_limit is None else limit_open_files(file_limit),
        )
        try:
            wait_until_listening(port, process, log_path)
            yield process
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def limit_open_files(limit: int) -> Callable[[], None]:
    """A ``preexec_fn`` giving the child ``ulimit -n limit`` (soft and hard)."""

    def set_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    return set_limit


def wait_until_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    def listening() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"server exited: {log.read_text(errors='replace')}")
        return accepts_connections(port)

    eventually_blocking(listening, what=f"a listener on port {port}", timeout=START_TIMEOUT)


def accepts_connections(port: int) -> bool:
    """Whether something accepts TCP connections on loopback ``port`` right now."""
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
        return True
    return False
