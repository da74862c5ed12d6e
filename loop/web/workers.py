"""Several worker processes on one port (``server.workers`` / ``--workers N``).

The listening socket is bound once, then the process forks: each worker runs its own
event loop, app and storage connections on the shared socket, and the kernel spreads the
connections. What the workers share (sessions, rooms, nonces, secrets, rate limits,
pub/sub fan-out) lives in the storage, so several workers want Redis; SQLite works too,
its writers taking turns on the file lock.

The parent only supervises: it forwards SIGTERM and SIGINT to the workers (each drains as
a single process does) and exits with the worst status they exit with, so a service
manager sees one process that stops cleanly, or fails loudly when a worker does.

Prometheus counts across processes only when ``PROMETHEUS_MULTIPROC_DIR`` is set before
``prometheus_client`` is imported, so :func:`ensure_metrics_directory` re-executes the
command once with a fresh directory when it is not.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Callable
from types import FrameType

from loop.prometheus import MULTIPROCESS_ENV

logger = logging.getLogger("loop.workers")

FORWARDED = (signal.SIGTERM, signal.SIGINT)


OWNED_DIRECTORY_ENV = "PROMETHEUS_MULTIPROC_DIR_MADE_BY_LOOP"
"""Set with ``PROMETHEUS_MULTIPROC_DIR`` when this command made the directory itself (and
so removes it when the workers are gone)."""


def ensure_metrics_directory() -> None:
    """Re-execute this command, exactly as it was invoked, with ``PROMETHEUS_MULTIPROC_DIR``
    set to a new private directory, unless it already is set; never returns in that case."""
    if os.environ.get(MULTIPROCESS_ENV):
        return
    directory = tempfile.mkdtemp(prefix="loop-metrics-")
    os.environ[MULTIPROCESS_ENV] = os.environ[OWNED_DIRECTORY_ENV] = directory
    os.execv(sys.executable, sys.orig_argv)


def remove_owned_metrics_directory() -> None:
    directory = os.environ.get(OWNED_DIRECTORY_ENV)
    if directory and directory == os.environ.get(MULTIPROCESS_ENV):
        shutil.rmtree(directory, ignore_errors=True)


def run_workers(count: int, bound: socket.socket, serve: Callable[[socket.socket], None]) -> int:
    """Fork ``count`` workers serving ``bound``; in the parent, supervise them and return
    the worst exit status. In a worker, :func:`serve` runs and the worker exits."""
    children: list[int] = []
    for _ in range(count):
        pid = os.fork()
        if pid == 0:
            _worker(bound, serve)
        children.append(pid)
    bound.close()  # the workers hold it; the parent must not accept
    try:
        return _supervise(children)
    finally:
        remove_owned_metrics_directory()


def _worker(bound: socket.socket, serve: Callable[[socket.socket], None]) -> None:
    for signum in FORWARDED:
        signal.signal(signum, signal.SIG_DFL)
    status = 0
    try:
        serve(bound)
    except SystemExit as exit_:
        status = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:
        logger.exception("worker.failed")
        status = 1
    finally:
        logging.shutdown()
    os._exit(status)


def _supervise(children: list[int]) -> int:
    alive = set(children)

    def forward(signum: int, frame: FrameType | None) -> None:
        for pid in alive:
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

    for signum in FORWARDED:
        signal.signal(signum, forward)
    worst = 0
    while alive:
        pid, wait_status = os.wait()
        alive.discard(pid)
        status = os.waitstatus_to_exitcode(wait_status)
        if status != 0:
            logger.error("worker.exited", extra={"worker": pid, "status": status})
            worst = worst or (status if status > 0 else 1)
            forward(signal.SIGTERM, None)  # one worker down: stop the rest, fail loudly
    return worst
