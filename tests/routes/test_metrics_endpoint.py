"""``GET /metrics`` (README "Metrics"): Prometheus figures a dashboard can use, by route
template and never by path, readable from loopback only unless configured, on both
backends."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from loop.config import MetricsSettings, StorageSettings
from loop.metrics import CountingMetrics, TeeMetrics
from loop.prometheus import PrometheusMetrics
from tests.routes.conftest import Harness
from tests.support.app import make_settings, running_app
from tests.support.client import LoopClient, assert_error
from tests.support.ports import free_port
from tests.support.redis_server import redis_process
from tests.support.rooms import ROOM, harness_with
from tests.support.waiting import eventually

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: Samples, metric: str, **labels: str) -> float:
    return found.get((metric, frozenset(labels.items())), 0.0)


async def scrape(harness: Harness) -> tuple[Samples, str]:
    response = await harness.client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return samples(response.text), response.text


async def test_requests_are_counted_by_route_template(harness: Harness) -> None:
    client = harness.client
    session = await client.register()
    created = await client.post("/rooms", json=ROOM, hawk=session)
    token = created.json()["roomToken"]
    client.prefix = "/v0"
    for _ in range(3):
        assert (await client.get(f"/rooms/{token}", hawk=session)).status_code == 200
    assert (await client.get("/rooms/nope0000000", hawk=session)).status_code == 404
    client.prefix = ""
    found, text = await scrape(harness)
    requests = "loop_http_requests_total"
    assert value(found, requests, method="POST", route="/registration", status="200") == 1
    assert value(found, requests, method="POST", route="/rooms", status="201") == 1
    assert value(found, requests, method="GET", route="/v0/rooms/{token}", status="200") == 3
    assert value(found, requests, method="GET", route="/v0/rooms/{token}", status="404") == 1
    latency = "loop_http_request_duration_seconds_count"
    assert value(found, latency, method="GET", route="/v0/rooms/{token}") == 4
    assert token not in text and session.token not in text and session.id not in text
    assert value(found, "loop_storage_round_trips_total") >= 6
    assert value(found, "process_open_fds") > 0


async def test_a_second_scrape_sees_the_first(harness: Harness) -> None:
    await scrape(harness)
    found, _ = await scrape(harness)
    assert (
        value(found, "loop_http_requests_total", method="GET", route="/metrics", status="200") == 1
    )


async def test_only_loopback_clients_may_read_it_by_default(harness: Harness) -> None:
    app_transport = harness.client.http._transport
    assert isinstance(app_transport, httpx.ASGITransport)
    outside = httpx.ASGITransport(app=app_transport.app, client=("192.0.2.7", 4000))
    async with httpx.AsyncClient(transport=outside, base_url="http://localhost:5000") as http:
        assert_error(await http.get("/metrics"), 403, 999, "Forbidden")
        v0 = await http.get("/v0/metrics")
    assert v0.status_code == 404  # at the root only


async def test_behind_a_trusted_proxy_the_forwarded_client_is_judged(storage_url: str) -> None:
    settings = make_settings(storage_url, trusted_proxies=["127.0.0.1"])
    async with (
        running_app(settings) as (app, _, _clock),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://h") as http,
    ):
        outside = await http.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
        assert_error(outside, 403, 999, "Forbidden")
        inside = await http.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"})
        assert inside.status_code == 200


async def test_allowed_addresses_open_it_to_a_network(storage_url: str) -> None:
    metrics = MetricsSettings(allowed_addresses=["192.0.2.0/24"])
    async with running_app(make_settings(storage_url, metrics=metrics)) as (app, _, _clock):
        for address, status in (("192.0.2.7", 200), ("127.0.0.1", 403)):
            transport = httpx.ASGITransport(app=app, client=(address, 4000))
            async with httpx.AsyncClient(transport=transport, base_url="http://h") as http:
                assert (await http.get("/metrics")).status_code == status


async def test_its_own_port_moves_it_off_the_app(storage_url: str) -> None:
    metrics = MetricsSettings(port=0)
    settings = make_settings(storage_url, metrics=metrics)
    async with running_app(settings) as (app, services, clock):
        assert services.metrics_listener is None
    listener_settings = dataclasses.replace(settings, metrics=MetricsSettings(port=free_port()))
    async with running_app(listener_settings) as (app, services, clock):
        listener = services.metrics_listener
        assert listener is not None
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://h") as http:
            client = LoopClient(http, clock)
            await client.register()
            assert (await http.get("/metrics")).status_code == 404
        async with httpx.AsyncClient() as outside:
            answer = await outside.get(f"http://127.0.0.1:{listener.port}/metrics")
    found = samples(answer.text)
    assert (
        value(
            found, "loop_http_requests_total", method="POST", route="/registration", status="200"
        )
        == 1
    )


async def test_turned_off_it_is_not_there(storage_url: str) -> None:
    settings = make_settings(storage_url, metrics=MetricsSettings(prometheus=False))
    async with (
        running_app(settings) as (app, services, _clock),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://h") as http,
    ):
        assert services.prometheus is None
        assert_error(await http.get("/metrics"), 404, 999)


async def test_backend_failures_are_counted(tmp_path: Path) -> None:
    """A request the storage fails answers 503 errno 201 and counts once; the scrape itself
    never waits on the storage, so it answers while Redis is frozen."""
    with redis_process() as server:
        storage = StorageSettings(url=server.url, timeout=0.3)
        async with harness_with(server.url, storage=storage) as harness:
            session = await harness.client.register()
            server.freeze()
            try:
                failed = await harness.client.get("/rooms", hawk=session)
                assert_error(failed, 503, 201)
                found, _ = await scrape(harness)
            finally:
                server.thaw()
    assert value(found, "loop_backend_errors_total") == 1
    assert (
        value(found, "loop_http_requests_total", method="GET", route="/rooms", status="503") == 1
    )


def test_requests_of_unknown_methods_are_one_series_however_many_methods() -> None:
    prometheus = PrometheusMetrics()
    for n in range(500):
        prometheus.request(f"HOSTILE{n}", "unmatched", 405, 999, 0.001)
    prometheus.request("GET", "/rooms", 200, 0, 0.002)
    prometheus.request("GET", "/rooms", 200, 0, 0.002)
    found = samples(prometheus.exposition().decode())
    total = "loop_http_requests_total"
    assert value(found, total, method="other", route="unmatched", status="405") == 500
    assert value(found, total, method="GET", route="/rooms", status="200") == 2
    methods = {dict(labels)["method"] for name, labels in found if name == total}
    assert methods == {"other", "GET"}
    latency = "loop_http_request_duration_seconds_count"
    assert value(found, latency, method="GET", route="/rooms") == 2


def test_events_reach_prometheus_and_statsd_alike() -> None:
    """The server's statsd-style events (push outcomes...) go to every sink."""
    prometheus, counting = PrometheusMetrics(), CountingMetrics()
    tee = TeeMetrics([prometheus, counting])
    tee.incr("loop.simplepush.call", tags=["rooms.notifyowner.join", "success"])
    tee.timing("loop.simplepush.call.duration", 12.0, tags=["rooms.notifyowner.join", "success"])
    found = samples(prometheus.exposition().decode())
    tags = "rooms.notifyowner.join,success"
    assert value(found, "loop_events_total", name="loop.simplepush.call", tags=tags) == 1
    duration = "loop_event_duration_seconds_sum"
    assert value(found, duration, name="loop.simplepush.call.duration", tags=tags) == 0.012
    assert counting.count("loop.simplepush.call", "success") == 1


async def test_the_push_notifier_reports_to_prometheus(harness: Harness) -> None:
    assert harness.services.prometheus is not None
    harness.services.push.metrics.incr("loop.push.dropped", tags=["rooms", "webpush"])
    found, _ = await scrape(harness)
    assert value(found, "loop_events_total", name="loop.push.dropped", tags="rooms,webpush") == 1


async def test_rooms_in_use_and_their_participants_are_gauged(storage_url: str) -> None:
    """Read from the storage by the background job, not by the scrape."""
    metrics = MetricsSettings(refresh_interval=0.05)
    settings = make_settings(storage_url, metrics=metrics)
    async with (
        running_app(settings, background_jobs=True) as (app, _, clock),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://h") as http,
    ):
        client = LoopClient(http, clock)
        owner = await client.register()
        token = (await client.post("/rooms", json=ROOM, hawk=owner)).json()["roomToken"]
        join = {"action": "join", "displayName": "Bob", "clientMaxSize": 2}
        assert (await client.post(f"/rooms/{token}", json=join)).status_code == 200

        async def gauged() -> bool:
            found = samples((await http.get("/metrics")).text)
            active = value(found, "loop_rooms_active"), value(found, "loop_participants_active")
            return active == (1, 1)

        await eventually(gauged, what="one room in use with one participant")
