"""Room-flow load benchmark: one server process per backend, measured from outside.

Each virtual user loops over the flow the original server was measured on (``--scenario
rooms``): register, create a room, join x3 (the owner and two anonymous link-clickers),
refresh, GET, leave, delete, all Hawk-signed like Firefox signs them. ``--scenario
startup`` is a Firefox start as the original's own load test weighed it (95 % of its
traffic): ``GET /push-server-config``, ``POST /registration`` with SimplePush URLs (a new
session), ``GET /rooms`` signed with it. ``--scenario floor`` sends only
``GET /__lbheartbeat__``: the fixed cost of any request through the whole stack (HTTP
parsing, middleware, routing, the summary log line, the response write), no storage and
no Hawk. The server runs as a separate process
(``loop-server``, one worker, production settings); the load generator is a lean
keep-alive HTTP/1.1 client on asyncio streams so that, on a small machine, the client is
not what is measured.

Prints, per backend: requests/s, p50/p99 latency, and storage round trips and commands
per request as counted by the server's storage layer (logged at shutdown), plus for Redis
the commands the Redis server itself executed (INFO commandstats, scripts' inner calls
included).

    .venv/bin/python bench/room_flow.py --backend both --duration 10 --repeat 3
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loop.crypto import hawk_credentials  # noqa: E402
from tests.support.ports import free_port  # noqa: E402
from tests.support.redis_server import redis_server  # noqa: E402

HOST = "127.0.0.1"
PUSH_URL = "https://push.example.invalid/update/bench"
"""The SimplePush URL the startup flow registers (registering notifies nobody)."""


class Connection:
    """One keep-alive HTTP/1.1 connection; just enough protocol for this benchmark."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        assert self.reader is not None
        lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        response_headers = {}
        for line in header_lines:
            if line:
                name, _, value = line.partition(":")
                response_headers[name.strip().lower()] = value.strip()
        length = int(response_headers.get("content-length", "0"))
        payload = await self.reader.readexactly(length) if length else b""
        return status, response_headers, payload

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class HawkSigner:
    """Hawk 1.0 header auth, as Firefox computes it (payload hash on bodies)."""

    def __init__(self, token: str, port: int) -> None:
        self.id, key = hawk_credentials(token)
        self.key = key.encode()
        self.port = port

    def header(self, method: str, path: str, body: bytes, content_type: str) -> str:
        ts = str(int(time.time()))
        nonce = base64.b64encode(secrets.token_bytes(8)).decode()
        payload_hash = ""
        if body:
            digest = hashlib.sha256(b"hawk.1.payload\n%s\n%s\n" % (content_type.encode(), body))
            payload_hash = base64.b64encode(digest.digest()).decode()
        normalized = (
            f"hawk.1.header\n{ts}\n{nonce}\n{method}\n{path}\n{HOST}\n{self.port}\n"
            f"{payload_hash}\n\n"
        )
        mac = base64.b64encode(
            hmac.new(self.key, normalized.encode(), hashlib.sha256).digest()
        ).decode()
        parts = f'id="{self.id}", ts="{ts}", nonce="{nonce}", '
        if payload_hash:
            parts += f'hash="{payload_hash}", '
        return f'Hawk {parts}mac="{mac}"'


class VirtualUser:
    def __init__(self, port: int, latencies: list[float], errors: list[str]) -> None:
        self.port = port
        self.conn = Connection(port)
        self.latencies = latencies
        self.errors = errors

    async def call(
        self,
        method: str,
        path: str,
        expect: int,
        payload: Any = None,
        signer: HawkSigner | None = None,
    ) -> tuple[dict[str, str], Any]:
        body = json.dumps(payload).encode() if payload is not None else b""
        headers = {"Content-Type": "application/json"} if body else {}
        if signer is not None:
            headers["Authorization"] = signer.header(method, path, body, "application/json")
        started = time.perf_counter()
        status, response_headers, response = await self.conn.request(method, path, body, headers)
        self.latencies.append(time.perf_counter() - started)
        if status != expect:
            self.errors.append(f"{method} {path}: {status} {response[:200]!r}")
        return response_headers, json.loads(response) if response else None

    async def startup(self) -> None:
        await self.call("GET", "/push-server-config", 200)
        registration = {"simplePushURLs": {"calls": PUSH_URL, "rooms": PUSH_URL}}
        headers, _ = await self.call("POST", "/registration", 200, registration)
        session = HawkSigner(headers["hawk-session-token"], self.port)
        await self.call("GET", "/rooms", 200, signer=session)

    async def floor(self) -> None:
        await self.call("GET", "/__lbheartbeat__", 200)

    async def rooms(self) -> None:
        headers, _ = await self.call("POST", "/registration", 200, {})
        owner = HawkSigner(headers["hawk-session-token"], self.port)
        _, room = await self.call(
            "POST",
            "/rooms",
            201,
            {
                "roomOwner": "-",
                "maxSize": 5,
                "context": {"value": "v", "alg": "AES-GCM", "wrappedKey": "k"},
            },
            owner,
        )
        path = f"/rooms/{room['roomToken']}"
        join = {"action": "join", "displayName": "Guest", "clientMaxSize": 5}
        await self.call("POST", path, 200, join, owner)
        await self.call("POST", path, 200, join)
        await self.call("POST", path, 200, join)
        await self.call("POST", path, 200, {"action": "refresh"}, owner)
        await self.call("GET", path, 200, signer=owner)
        await self.call("POST", path, 204, {"action": "leave"}, owner)
        await self.call("DELETE", path, 204, signer=owner)


async def run_load(
    port: int, concurrency: int, duration: float, scenario: str = "rooms"
) -> tuple[list[float], list[str], float]:
    latencies: list[float] = []
    errors: list[str] = []
    deadline = time.perf_counter() + duration

    async def user_loop() -> None:
        user = VirtualUser(port, latencies, errors)
        try:
            flow = {"startup": user.startup, "floor": user.floor}.get(scenario, user.rooms)
            while time.perf_counter() < deadline:
                await flow()
        finally:
            user.conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(user_loop() for _ in range(concurrency)))
    return latencies, errors, time.perf_counter() - started


@contextlib.contextmanager
def server_process(
    storage_url: str, port: int, log_path: Path, workers: int = 1
) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "LOOP_SERVER__WORKERS": str(workers),
        "LOOP_STORAGE__URL": storage_url,
        "LOOP_PORT": str(port),
        "LOOP_DATA_DIR": str(log_path.parent),
        # Every virtual user comes from 127.0.0.1: limits per address high enough never to
        # refuse, but still counted, so their cost is measured (D32).
        "LOOP_LIMITS__REGISTRATIONS_PER_ADDRESS": "1000000000",
        "LOOP_LIMITS__JOINS_PER_ADDRESS": "1000000000",
    }
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "loop.cli"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        wait_until_listening(port, process)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)


def wait_until_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    import socket

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the server exited during start-up")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError("the server did not start")


def cpu_seconds(pid: int) -> float:
    """User + system CPU the process and its live workers have used (Linux ``/proc``):
    steadier than wall-clock throughput when the machine is shared."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if stat.parent.name == str(pid) or int(fields[1]) == pid:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def storage_stats(log_path: Path) -> dict[str, int]:
    text = log_path.read_text(errors="replace")
    found = re.findall(r'"round_trips":\s*(\d+).*?"commands":\s*(\d+)', text)
    if not found:
        found = re.findall(r"round_trips=(\d+).*?commands=(\d+)", text)
    if not found:
        return {}
    return {  # one line per worker process
        "round_trips": sum(int(round_trips) for round_trips, _ in found),
        "commands": sum(int(commands) for _, commands in found),
    }


def redis_executed_commands(url: str) -> int:
    import redis

    client = redis.Redis.from_url(url)
    stats = client.info("commandstats")
    client.close()
    return sum(int(v["calls"]) for k, v in stats.items() if k != "cmdstat_info")


def report(
    backend: str, latencies: list[float], errors: list[str], elapsed: float, stats: dict[str, int]
) -> dict[str, Any]:
    count = len(latencies)
    ordered = sorted(latencies)
    result: dict[str, Any] = {
        "backend": backend,
        "requests": count,
        "errors": len(errors),
        "requests_per_s": round(count / elapsed, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[int(count * 0.99) - 1] * 1000, 2),
    }
    if stats:
        result["round_trips_per_request"] = round(stats["round_trips"] / count, 2)
        result["storage_commands_per_request"] = round(stats["commands"] / count, 2)
    if "redis_executed" in stats:
        result["redis_executed_commands_per_request"] = round(stats["redis_executed"] / count, 2)
    return result


def bench(
    backend: str,
    concurrency: int,
    duration: float,
    repeat: int,
    workdir: Path,
    scenario: str,
    workers: int = 1,
) -> dict[str, Any]:
    """Measure ``repeat`` windows of ``duration`` seconds on one server; requests/s is the
    median window (a shared machine is noisy), latencies are pooled."""
    port = free_port()
    log_path = workdir / f"server-{backend}.log"
    with contextlib.ExitStack() as stack:
        if backend == "redis":
            storage_url = stack.enter_context(redis_server())
        else:
            storage_url = f"sqlite:///{workdir / 'bench.db'}"
        with server_process(storage_url, port, log_path, workers) as server:
            warmup, _, _ = asyncio.run(run_load(port, concurrency, 2, scenario))
            if backend == "redis":
                import redis

                redis.Redis.from_url(storage_url).config_resetstat()
            latencies, errors, elapsed = [], [], 0.0
            rates = []
            cpu_before = cpu_seconds(server.pid)
            for _ in range(repeat):
                window, window_errors, window_elapsed = asyncio.run(
                    run_load(port, concurrency, duration, scenario)
                )
                rates.append(len(window) / window_elapsed)
                latencies += window
                errors += window_errors
                elapsed += window_elapsed
            server_cpu = cpu_seconds(server.pid) - cpu_before
            redis_executed = redis_executed_commands(storage_url) if backend == "redis" else None
        stats = storage_stats(log_path)
    if stats:  # the server counted from its start, warm-up included
        share = len(latencies) / (len(latencies) + len(warmup))
        stats = {k: int(v * share) for k, v in stats.items()}
    if redis_executed is not None:
        stats["redis_executed"] = redis_executed
    if errors:
        print(f"[{backend}] {len(errors)} unexpected answers, first: {errors[0]}", file=sys.stderr)
    result = report(backend, latencies, errors, elapsed, stats)
    result["requests_per_s"] = round(statistics.median(rates), 1)
    result["requests_per_s_windows"] = [round(rate) for rate in rates]
    result["server_cpu_us_per_request"] = round(server_cpu * 1e6 / len(latencies))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "redis", "both"], default="both")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=10, help="seconds per window")
    parser.add_argument("--repeat", type=int, default=3, help="measured windows")
    parser.add_argument("--scenario", choices=["rooms", "startup", "floor"], default="rooms")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    args = parser.parse_args()
    backends = ["sqlite", "redis"] if args.backend == "both" else [args.backend]
    with tempfile.TemporaryDirectory(prefix="loop-bench-") as tmp:
        for backend in backends:
            result = bench(
                backend,
                args.concurrency,
                args.duration,
                args.repeat,
                Path(tmp),
                args.scenario,
                args.workers,
            )
            result["scenario"] = args.scenario
            result["workers"] = args.workers
            print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
