"""Idle call-progress sockets: how many one server process holds, and its memory per socket.

A ``loop-server`` process (one worker, production settings) is started on a SQLite file
(or a Redis URL); the bench files ``--sockets`` calls straight into the same storage,
opens one websocket per call, says hello (so every socket is subscribed, has its
supervisory timer armed and its delivery task waiting, as a ringing caller's socket is)
and then leaves them idle. It reports the server's RSS before and after, and the delta
divided by the number of sockets, then checks a sample of sockets still answer ``echo``.

    .venv/bin/python bench/websocket_idle.py --sockets 2000
    .venv/bin/python bench/websocket_idle.py --sockets 2000 --storage redis://127.0.0.1:6379/0
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from websockets.asyncio.client import ClientConnection

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.idle_calls import (  # noqa: E402
    file_calls,
    raise_file_limit,
    rss_kib,
    say_hello,
)
from tests.support.ports import free_port  # noqa: E402

BATCH = 100
"""Sockets opened concurrently."""
SOCKET_TIMEOUT = 60.0
"""Seconds to open a socket and have its hello answered, on a machine busy opening
thousands."""
FILE_HEADROOM = 1024
"""Files beyond one per socket: the server's ``server.reserved_files`` (128 by default)
and both processes' own (storage, logs, the Python runtime)."""


@contextlib.contextmanager
def server(storage_url: str, data_dir: Path) -> Iterator[tuple[int, int]]:
    """``(pid, port)`` of a running ``loop-server`` with long call timers."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LOOP_")},
        "LOOP_PORT": str(port),
        "LOOP_STORAGE__URL": storage_url,
        "LOOP_DATA_DIR": str(data_dir),
        "LOOP_CALL_DURATION": "3600",
        "LOOP_TIMERS__SUPERVISORY_DURATION": "1200",
        "LOOP_LOGGING__LEVEL": "WARNING",
        "LOOP_PUSH_SERVER_URIS": "[]",
    }
    binary = Path(sys.executable).parent / "loop-server"
    process = subprocess.Popen([str(binary)], env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("loop-server did not start")
            time.sleep(0.05)
        yield process.pid, port
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


async def run(storage_url: str, sockets: int, data_dir: Path) -> None:
    calls = await file_calls(storage_url, sockets, prefix="bench")
    with server(storage_url, data_dir) as (pid, port):
        url = f"ws://127.0.0.1:{port}/websocket"
        # first, for the first-use imports and caches
        warm = await say_hello(url, calls[0], timeout=SOCKET_TIMEOUT)
        await warm.close()
        await asyncio.sleep(1)
        before = rss_kib(pid)
        opened: list[ClientConnection] = []
        started = time.perf_counter()
        for start in range(1, sockets, BATCH):
            batch = calls[start : start + BATCH]
            hellos = (say_hello(url, call, timeout=SOCKET_TIMEOUT) for call in batch)
            opened += await asyncio.gather(*hellos)
        elapsed = time.perf_counter() - started
        await asyncio.sleep(2)
        after = rss_kib(pid)
        for connection in opened[:: max(1, len(opened) // 20)]:
            await connection.send(json.dumps({"messageType": "echo", "echo": 1}))
            assert json.loads(await connection.recv())["echo"] == 1
        held = len(opened)
        print(f"storage: {storage_url.split(':', 1)[0]}")
        print(f"idle call sockets held: {held} (opened + hello in {elapsed:.1f} s)")
        print(f"server RSS: {before / 1024:.1f} MiB -> {after / 1024:.1f} MiB")
        print(f"memory per socket: {(after - before) / held:.1f} KiB")
        await asyncio.gather(*(connection.close() for connection in opened))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", type=int, default=2000)
    parser.add_argument("--storage", default="", help="storage URL (default: a temp SQLite)")
    args = parser.parse_args()
    raise_file_limit(args.sockets + 1 + FILE_HEADROOM)
    with tempfile.TemporaryDirectory(prefix="loop-ws-bench-") as tmp:
        url = args.storage or f"sqlite:///{tmp}/bench.db"
        if url.startswith("redis"):
            import redis

            redis.Redis.from_url(url).flushdb()
        asyncio.run(run(url, args.sockets + 1, Path(tmp)))


if __name__ == "__main__":
    main()
