"""Prometheus metrics from real ``loop-server`` processes: the counters move as requests
arrive (what an operator's ``curl /metrics`` shows), websockets open are counted while
open, and several processes sharing ``PROMETHEUS_MULTIPROC_DIR`` answer a scrape with
their sum."""

from __future__ import annotations

from pathlib import Path

import httpx
from websockets.asyncio.client import connect

from tests.routes.test_metrics_endpoint import samples, value
from tests.support.waiting import DEADLINE, eventually
from tests.test_calls_multiprocess import two_servers

REGISTRATIONS = (
    "loop_http_requests_total",
    {"method": "POST", "route": "/v0/registration", "status": "200"},
)


def registrations(text: str) -> float:
    name, labels = REGISTRATIONS
    return value(samples(text), name, **labels)


def websockets_open(text: str) -> float:
    return value(samples(text), "loop_websockets_open", route="/v0/signalling")


async def test_processes_sharing_a_directory_are_scraped_as_one(
    redis_url: str, tmp_path: Path
) -> None:
    shared = tmp_path / "prometheus"
    shared.mkdir()
    with two_servers(redis_url, tmp_path, PROMETHEUS_MULTIPROC_DIR=str(shared)) as (a, b):
        root_a = a.removesuffix("/v0")
        async with httpx.AsyncClient(timeout=DEADLINE) as http:
            before = registrations((await http.get(f"{root_a}/metrics")).text)
            for base, count in ((a, 2), (b, 3)):
                for _ in range(count):
                    assert (await http.post(f"{base}/registration", json={})).status_code == 200
            after = registrations((await http.get(f"{root_a}/metrics")).text)
            assert after - before == 5

            ws_b = b.replace("http://", "ws://") + "/signalling"
            async with connect(ws_b, open_timeout=DEADLINE):

                async def one_open() -> bool:
                    return websockets_open((await http.get(f"{root_a}/metrics")).text) == 1

                await eventually(one_open, what="the socket on B counted by A's scrape")

            async def none_open() -> bool:
                return websockets_open((await http.get(f"{root_a}/metrics")).text) == 0

            await eventually(none_open, what="the closed socket no longer counted")
