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
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loop.storage import from_url  # noqa: E402
from loop.storage.calls import Call  # noqa: E402

BATCH = 100
"""Sockets opened concurrently."""
FILE_HEADROOM = 1024
"""Files beyond one per socket: the server's ``server.reserved_files`` (128 by default)
and both processes' own (storage, logs, the Python runtime)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


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


async def file_calls(storage_url: str, count: int) -> list[Call]:
    storage = await from_url(storage_url)
    now = time.time()
    calls = [
        Call(
            call_id=f"bench-{i:06d}",
            call_type="audio",
            timestamp=int(now),
            expires_at=now + 3600,
            api_key="k",
            session_id="s",
            callee_token="t",
            ws_caller_token=f"caller-{i:06d}",
            ws_callee_token=f"callee-{i:06d}",
        )
        for i in range(count)
    ]
    try:
        for call in calls:
            await storage.create_call(call, callees=["bench"], reachable_only=False, now=now)
    finally:
        await storage.close()
    return calls


async def open_socket(url: str, call: Call) -> ClientConnection:
    connection = await connect(url, open_timeout=60, ping_interval=None)
    hello = {"messageType": "hello", "callId": call.call_id, "auth": call.ws_caller_token}
    await connection.send(json.dumps(hello))
    answer = json.loads(await connection.recv())
    assert answer.get("state") == "init", answer
    return connection


async def run(storage_url: str, sockets: int, data_dir: Path) -> None:
    calls = await file_calls(storage_url, sockets)
    with server(storage_url, data_dir) as (pid, port):
        url = f"ws://127.0.0.1:{port}/websocket"
        warm = await open_socket(url, calls[0])  # first-use imports and caches
        await warm.close()
        await asyncio.sleep(1)
        before = rss_kib(pid)
        opened: list[ClientConnection] = []
        started = time.perf_counter()
        for start in range(1, sockets, BATCH):
            batch = calls[start : start + BATCH]
            opened += await asyncio.gather(*(open_socket(url, call) for call in batch))
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


def raise_file_limit(sockets: int) -> None:
    """Both this process and the server (which inherits the limit) hold one file per
    socket, and the server's connection cap is its file limit less ``server.reserved_files``:
    raise the soft limit toward the hard one, or say why the run cannot hold them all."""
    needed = sockets + FILE_HEADROOM
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            raise SystemExit(f"`ulimit -Hn` is {hard}: {sockets} sockets need {needed} files")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", type=int, default=2000)
    parser.add_argument("--storage", default="", help="storage URL (default: a temp SQLite)")
    args = parser.parse_args()
    raise_file_limit(args.sockets + 1)
    with tempfile.TemporaryDirectory(prefix="loop-ws-bench-") as tmp:
        url = args.storage or f"sqlite:///{tmp}/bench.db"
        if url.startswith("redis"):
            import redis

            redis.Redis.from_url(url).flushdb()
        asyncio.run(run(url, args.sockets + 1, Path(tmp)))


if __name__ == "__main__":
    main()
