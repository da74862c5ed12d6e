"""Real requests against a flood of slow sockets, under a low open-file limit.

A ``loop-server`` process (SQLite, production settings but ``--header-timeout``) is
started under ``ulimit -n --file-limit``. The attacker keeps ``--sockets`` connections
open that send a request line and then one header byte a second, reopening each one the
server closes; meanwhile a real client sends ``GET /__lbheartbeat__`` on fresh connections
back to back for ``--duration`` seconds. Printed: real requests answered and failed,
their p50/p99/max latency, the server's most open files, and how many slow sockets the
server closed.

    .venv/bin/python bench/slow_sockets.py --file-limit 1024 --sockets 1100
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PARTIAL = b"GET /__lbheartbeat__ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
REQUEST = b"GET /__lbheartbeat__ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def server(file_limit: int, header_timeout: float, data_dir: Path) -> Iterator[tuple[int, int]]:
    """``(pid, port)`` of a running ``loop-server`` under ``ulimit -n file_limit``."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOP_")} | {
        "LOOP_PORT": str(port),
        "LOOP_DATA_DIR": str(data_dir),
        "LOOP_PUSH_SERVER_URIS": "[]",
        "LOOP_SERVER__HEADER_TIMEOUT": str(header_timeout),
    }

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (file_limit, file_limit))

    command = [str(Path(sys.executable).parent / "loop-server")]
    with open(data_dir / "server.log", "wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=log, preexec_fn=limit)
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("loop-server did not start")
            time.sleep(0.05)
        yield process.pid, port
    finally:
        process.terminate()
        process.wait(30)


class Attacker:
    """Keeps ``sockets`` slow connections open, reopening those the server closes."""

    def __init__(self, port: int, sockets: int, reopen: bool) -> None:
        self.port = port
        self.sockets = sockets
        self.reopen = reopen
        self.closed_by_server = 0
        self.stopping = False

    async def run(self) -> None:
        await asyncio.gather(*(self._one() for _ in range(self.sockets)))

    async def _one(self) -> None:
        while not self.stopping:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                await asyncio.sleep(0.1)
                continue
            try:
                writer.write(PARTIAL)
                while not self.stopping:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(1):
                            await reader.read(65536)
                            self.closed_by_server += 1  # an answer or EOF: closed
                            break
                    writer.write(b"a")  # one more header byte a second
            except OSError:
                self.closed_by_server += 1
            finally:
                writer.close()
            if not self.reopen:
                return


async def real_requests(port: int, duration: float) -> tuple[list[float], int]:
    latencies: list[float] = []
    failures = 0
    deadline = time.monotonic() + duration
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            async with asyncio.timeout(10):
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(REQUEST)
                answer = await reader.read()
                writer.close()
            if answer.startswith(b"HTTP/1.1 200 "):
                latencies.append(time.monotonic() - started)
            else:
                failures += 1
        except (OSError, TimeoutError):
            failures += 1
    return latencies, failures


def open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


async def measure(pid: int, port: int, sockets: int, duration: float, reopen: bool) -> None:
    attacker = Attacker(port, sockets, reopen)
    attack = asyncio.create_task(attacker.run())
    await asyncio.sleep(2)  # let the flood build up
    most_files = 0

    async def watch() -> None:
        nonlocal most_files
        while True:
            most_files = max(most_files, open_files(pid))
            await asyncio.sleep(0.2)

    watcher = asyncio.create_task(watch())
    latencies, failures = await real_requests(port, duration)
    watcher.cancel()
    attacker.stopping = True
    await attack
    latencies.sort()
    summary = f"real requests: {len(latencies)} answered 200, {failures} failed"
    if latencies:
        p99 = latencies[max(int(len(latencies) * 0.99) - 1, 0)]
        summary += (
            f"; latency p50 {statistics.median(latencies) * 1000:.1f} ms, "
            f"p99 {p99 * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms"
        )
    print(summary)
    print(
        f"server: at most {most_files} open files; closed {attacker.closed_by_server} slow sockets"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file-limit", type=int, default=1024)
    parser.add_argument("--sockets", type=int, default=1100)
    parser.add_argument("--header-timeout", type=float, default=10.0)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument(
        "--no-reopen", action="store_true", help="open the slow sockets once, do not reopen"
    )
    args = parser.parse_args()
    resource.setrlimit(
        resource.RLIMIT_NOFILE, (args.sockets + 256, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
    )
    with (
        tempfile.TemporaryDirectory() as tmp,
        server(args.file_limit, args.header_timeout, Path(tmp)) as (pid, port),
    ):
        print(f"loop-server under ulimit -n {args.file_limit}, {args.sockets} slow sockets")
        asyncio.run(measure(pid, port, args.sockets, args.duration, not args.no_reopen))


if __name__ == "__main__":
    main()
