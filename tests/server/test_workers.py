"""Several worker processes on one port (``server.workers``, ``--workers N``): both
serve, what they share lives in the storage (Redis here), their Prometheus figures are
summed, and the parent stops them all on SIGTERM and exits 0, or exits non-zero when a
worker dies."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests

from loop.client import LoopClient
from tests.routes.test_metrics_endpoint import samples, value
from tests.support.ports import free_port
from tests.support.servers import console_command
from tests.support.waiting import eventually_blocking

WORKERS = 2


def children_of(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


@pytest.fixture
def workers(redis_url: str, tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    redis.Redis.from_url(redis_url).flushdb()  # no secrets fingerprint of an earlier test
    port = free_port()
    env = {
        "LOOP_PORT": str(port),
        "LOOP_DATA_DIR": str(tmp_path / "data"),
        "LOOP_STORAGE__URL": redis_url,
        "LOOP_SERVER__WORKERS": str(WORKERS),
    }
    log = tmp_path / "server.log"
    with console_command("loop-server", port, log, env) as process:
        eventually_blocking(
            lambda: len(children_of(process.pid)) == WORKERS, what="the workers forked"
        )
        yield f"http://127.0.0.1:{port}", process, log


def request_pids(log: Path) -> set[int]:
    pids = set()
    for line in log.read_text("utf-8").splitlines():
        if line.startswith("{") and '"request.summary"' in line:
            pids.add(json.loads(line)["Pid"])
    return pids


def test_workers_share_the_port_the_storage_and_the_metrics(
    workers: tuple[str, subprocess.Popen[bytes], Path],
) -> None:
    origin, process, log = workers
    worker_pids = children_of(process.pid)
    owner = LoopClient(f"{origin}/v0")
    owner.register()
    for _ in range(40):  # new connections, spread by the kernel over the workers
        with LoopClient(f"{origin}/v0", owner.session_token) as client:
            assert client.get("/rooms").status_code == 200
    owner.close()

    def both_served() -> bool:
        return request_pids(log) == worker_pids

    eventually_blocking(both_served, what="requests served by both workers")
    found = samples(requests.get(f"{origin}/metrics", timeout=10).text)
    listed = value(
        found, "loop_http_requests_total", method="GET", route="/v0/rooms", status="200"
    )
    assert listed == 40  # every worker's count, whichever answered the scrape


def test_sigterm_stops_every_worker_and_exits_0(
    workers: tuple[str, subprocess.Popen[bytes], Path],
) -> None:
    _, process, _ = workers
    worker_pids = children_of(process.pid)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in worker_pids)


def test_a_dead_worker_stops_the_others_and_fails_the_command(
    workers: tuple[str, subprocess.Popen[bytes], Path],
) -> None:
    _, process, _ = workers
    first, *others = sorted(children_of(process.pid))
    os.kill(first, signal.SIGKILL)
    assert process.wait(timeout=20) != 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in others)


@pytest.mark.parametrize(("flag", "status"), [("2", 0), ("0", 2), ("65", 2)])
def test_the_workers_flag_is_checked_like_the_setting(flag: str, status: int) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LOOP_")}
    result = subprocess.run(
        [sys.executable, "-m", "loop.cli", "--workers", flag, "--check"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == status, result.stderr
    if status:
        assert result.stderr == "loop-server: configuration error: server.workers: from 1 to 64\n"
