"""SimplePush delivery and the notifier's policy, against a real local push service."""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from loop.clock import FakeClock, SystemClock
from loop.config import ConfigError, PushSettings, Settings, load_settings
from loop.metrics import CountingMetrics
from loop.push import PushNotifier, RetryPolicy, status_url
from loop.push.base import describe, kind
from tests.support.push_server import PushServer
from tests.support.waiting import DEADLINE

CALL = "loop.simplepush.call"
REASON = "rooms.notifyowner.join"
WEBPUSH = {
    "endpoint": "https://updates.push.example/wpush/v2/abc",
    "keys": {"p256dh": "k", "auth": "a"},
}

NotifierFactory = Callable[..., PushNotifier]


@pytest.fixture
def push_server() -> Iterator[PushServer]:
    with PushServer() as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """No client-side timeout: the tests check the notifier's own limit."""
    async with httpx.AsyncClient(timeout=None) as client:
        yield client


@pytest.fixture
def metrics() -> CountingMetrics:
    return CountingMetrics()


@pytest.fixture
async def make_notifier(
    http: httpx.AsyncClient, metrics: CountingMetrics
) -> AsyncIterator[NotifierFactory]:
    made: list[PushNotifier] = []

    def make(**options: Any) -> PushNotifier:
        options = {"timeout": 2.0, "close_grace": 5.0, "metrics": metrics, **options}
        timeout = options.pop("timeout")
        notifier = PushNotifier(http, timeout, clock=SystemClock(), **options)
        made.append(notifier)
        return notifier

    yield make
    for notifier in made:
        await notifier.close()


# -- delivery -----------------------------------------------------------------------


async def test_notify_puts_the_version_as_a_form_to_each_url(
    push_server: PushServer, make_notifier: NotifierFactory, metrics: CountingMetrics
) -> None:
    notifier = make_notifier()
    urls = [push_server.url("/push/a"), push_server.url("/push/b")]

    notifier.notify(urls, topic="rooms", version=1_400_000_000, reason=REASON)

    requests = await push_server.wait_for(2)
    assert sorted(r.path for r in requests) == ["/push/a", "/push/b"]
    for request in requests:
        assert request.method == "PUT"
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        assert request.body == b"version=1400000000"
    await notifier.drain()
    assert metrics.count(CALL, REASON, "success") == 2


async def test_each_url_is_notified_once_per_notification(
    push_server: PushServer, make_notifier: NotifierFactory, metrics: CountingMetrics
) -> None:
    notifier = make_notifier()
    a, b = push_server.url("/a"), push_server.url("/b")

    notifier.notify([a, b, a, a], topic="calls", version=7, reason="call.direct")
    await notifier.close()  # waits for every delivery to finish

    assert sorted(r.path for r in push_server.requests) == ["/a", "/b"]
    assert metrics.count(CALL, "call.direct", "success") == 2


async def test_subscriptions_are_deduplicated_by_value() -> None:
    metrics = CountingMetrics()
    notifier = PushNotifier(httpx.AsyncClient(), 1.0, metrics=metrics, clock=SystemClock())
    reordered = {"keys": {"auth": "a", "p256dh": "k"}, "endpoint": WEBPUSH["endpoint"]}

    notifier.notify([WEBPUSH, reordered], topic="rooms", version=1, reason=REASON)

    assert metrics.count("loop.webpush.call", REASON, "skipped") == 1
    await notifier.close()
    await notifier.http.aclose()


@pytest.mark.parametrize("status", [200, 201, 204])
async def test_any_2xx_is_a_success(
    push_server: PushServer,
    make_notifier: NotifierFactory,
    metrics: CountingMetrics,
    status: int,
) -> None:
    push_server.respond_with(status)
    notifier = make_notifier()
    notifier.notify([push_server.url("/x")], topic="rooms", version=1, reason=REASON)
    await notifier.drain()
    assert metrics.count(CALL, REASON, "success") == 1


@pytest.mark.parametrize("status", [302, 400, 404, 410, 500, 503])
async def test_other_statuses_are_counted_and_logged_as_failures(
    push_server: PushServer,
    make_notifier: NotifierFactory,
    metrics: CountingMetrics,
    caplog: pytest.LogCaptureFixture,
    status: int,
) -> None:
    push_server.respond_with(status)
    notifier = make_notifier(retry=RetryPolicy(retries=0))
    with caplog.at_level(logging.WARNING, logger="loop.push"):
        notifier.notify([push_server.url("/x")], topic="rooms", version=1, reason=REASON)
        await notifier.drain()
    assert metrics.count(CALL, REASON, "failure") == 1
    (record,) = [r for r in caplog.records if r.getMessage() == "push.delivery"]
    assert (record.status, record.outcome, record.reason) == (status, "failure", REASON)  # type: ignore[attr-defined]


async def test_an_unreachable_push_service_is_a_failure_not_an_exception(
    make_notifier: NotifierFactory, metrics: CountingMetrics, refused_port: int
) -> None:
    url = f"http://127.0.0.1:{refused_port}/push"
    notifier = make_notifier()
    notifier.notify([url], topic="calls", version=1, reason="call.token")
    await notifier.drain()
    assert metrics.count(CALL, "call.token", "failure") == 1


async def test_logs_name_the_host_and_a_hash_never_the_url(
    push_server: PushServer,
    make_notifier: NotifierFactory,
    metrics: CountingMetrics,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "endpoint-capability-0123456789"
    push_server.respond_with(500)
    notifier = make_notifier(retry=RetryPolicy(retries=1, delay=0.01))
    with caplog.at_level(logging.DEBUG, logger="loop.push"):
        notifier.notify(
            [push_server.url(f"/push/{secret}"), WEBPUSH],
            topic="rooms",
            version=1,
            reason=REASON,
        )
        await notifier.drain()
    assert metrics.count(CALL, REASON, "failure") == 1
    assert {"push.unsupported", "push.retry", "push.delivery"} <= {
        record.getMessage() for record in caplog.records
    }
    for record in caplog.records:
        dumped = repr(vars(record))
        assert secret not in dumped
        assert "wpush/v2/abc" not in dumped
    hosts = {getattr(record, "push_host", None) for record in caplog.records}
    assert {"127.0.0.1", "updates.push.example"} <= hosts


# -- slow and stuck services ----------------------------------------------------------


async def test_a_hanging_service_neither_blocks_notify_nor_outlives_the_timeout(
    push_server: PushServer,
    make_notifier: NotifierFactory,
    metrics: CountingMetrics,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The service never answers (until the test ends), so the delivery can only end by
    the notifier's own time limit: no wall-clock bound needed to show it."""
    push_server.hang()
    notifier = make_notifier(timeout=0.3)

    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="loop.push"):
        notifier.notify([push_server.url("/stuck")], topic="rooms", version=1, reason=REASON)
        assert notifier.pending == 1  # scheduled, not awaited: notify() has returned
        await push_server.wait_for(1)
        await notifier.drain()

    assert time.monotonic() - started >= 0.3
    assert (notifier.pending, metrics.count(CALL, REASON, "failure")) == (0, 1)
    (record,) = [r for r in caplog.records if r.getMessage() == "push.delivery"]
    assert record.error == "timeout"  # type: ignore[attr-defined]
    assert len(push_server.requests) == 1  # a timeout is not retried


async def test_a_slow_service_is_abandoned_after_the_timeout(
    push_server: PushServer,
    make_notifier: NotifierFactory,
    metrics: CountingMetrics,
    caplog: pytest.LogCaptureFixture,
) -> None:
    push_server.respond_with(200, delay=30)  # answers, but long after the time limit
    notifier = make_notifier(timeout=0.2)
    with caplog.at_level(logging.WARNING, logger="loop.push"):
        notifier.notify([push_server.url("/slow")], topic="rooms", version=1, reason=REASON)
        await notifier.drain()
    assert metrics.count(CALL, REASON, "failure") == 1
    (record,) = [r for r in caplog.records if r.getMessage() == "push.delivery"]
    assert record.error == "timeout"  # type: ignore[attr-defined]
    assert metrics.count(CALL, "success") == 0


async def test_concurrency_is_bounded(
    push_server: PushServer, make_notifier: NotifierFactory, metrics: CountingMetrics
) -> None:
    push_server.hang()
    notifier = make_notifier(timeout=30, max_concurrency=2)
    urls = [push_server.url(f"/{i}") for i in range(5)]

    notifier.notify(urls, topic="rooms", version=1, reason=REASON)

    # Every delivery task took its first step before any request could arrive: the first
    # two hold the slots, the other three wait for one.
    await push_server.wait_for(2)
    assert (notifier.in_flight, notifier.pending, len(push_server.requests)) == (2, 5, 2)
    push_server.release()
    await notifier.drain()
    assert len(push_server.requests) == 5
    assert (notifier.in_flight, metrics.count(CALL, REASON, "success")) == (0, 5)


async def test_deliveries_beyond_max_pending_are_dropped(
    push_server: PushServer, make_notifier: NotifierFactory, metrics: CountingMetrics
) -> None:
    push_server.hang()
    notifier = make_notifier(timeout=30, max_pending=2, close_grace=0)
    urls = [push_server.url(f"/{i}") for i in range(3)]

    notifier.notify(urls, topic="rooms", version=1, reason=REASON)

    assert notifier.pending == 2
    assert metrics.count("loop.push.dropped", REASON) == 1


async def test_close_cancels_stuck_deliveries_after_the_grace_period(
    push_server: PushServer, make_notifier: NotifierFactory, metrics: CountingMetrics
) -> None:
    """The service hangs for good and the time limit is far off, so only the grace
    period can end the wait: ``close`` returning well before the time limit shows it."""
    push_server.hang()
    notifier = make_notifier(timeout=10 * DEADLINE, close_grace=0.1)
    notifier.notify([push_server.url("/stuck")], topic="rooms", version=1, reason=REASON)
    await push_server.wait_for(1)

    async with asyncio.timeout(DEADLINE):
        await notifier.close()

    assert notifier.pending == 0
    assert metrics.count(CALL, REASON, "failure") == 1


async def test_close_lets_deliveries_in_flight_finish_within_the_grace_period(
    push_server: PushServer, make_notifier: NotifierFactory, metrics: CountingMetrics
) -> None:
    push_server.respond_with(200, delay=0.2)
    notifier = make_notifier(close_grace=5)
    notifier.notify([push_server.url("/x")], topic="rooms", version=1, reason=REASON)

    await notifier.close()

    assert metrics.count(CALL, REASON, "success") == 1


async def test_notifications_after_close_are_dropped(
    push_server: PushServer, make_notifier: NotifierFactory
) -> None:
    notifier = make_notifier()
    await notifier.close()
    notifier.notify([push_server.url("/x")], topic="rooms", version=1, reason=REASON)
    assert notifier.pending == 0


async def test_drain_is_bounded_and_leaves_a_stuck_delivery_running(
    push_server: PushServer, make_notifier: NotifierFactory, metrics: CountingMetrics
) -> None:
    push_server.hang()
    notifier = make_notifier(timeout=10 * DEADLINE)
    notifier.notify([push_server.url("/stuck")], topic="rooms", version=1, reason=REASON)
    await push_server.wait_for(1)

    with pytest.raises(TimeoutError):
        await notifier.drain(timeout=0.05)
    assert (notifier.pending, notifier.in_flight) == (1, 1)  # not cancelled, still waiting

    push_server.release()
    await notifier.drain()
    assert (notifier.pending, notifier.in_flight) == (0, 0)
    assert metrics.count(CALL, REASON, "success") == 1


async def test_drain_returns_at_once_with_nothing_pending(make_notifier: NotifierFactory) -> None:
    notifier = make_notifier()
    await notifier.drain(timeout=0)
    assert notifier.pending == 0


async def test_a_retry_after_date_is_read_with_the_apps_clock(
    push_server: PushServer, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """The app's clock is years behind the wall clock here: read against the wall clock,
    the date would lie in the past and the retry would go at once."""
    clock = FakeClock()
    push = PushSettings(retries=1, retry_delay=0.01, max_retry_delay=5.0)
    notifier = PushNotifier.from_settings(
        dataclasses.replace(Settings(), push=push), http=http, clock=clock
    )
    in_a_second = email.utils.formatdate(clock.now() + 1, usegmt=True)
    push_server.respond_with(503, headers={"Retry-After": in_a_second}, times=1)

    with caplog.at_level(logging.INFO, logger="loop.push"):
        notifier.notify([push_server.url("/busy")], topic="rooms", version=1, reason=REASON)
        await notifier.drain()
    await notifier.close()

    (retry,) = [r for r in caplog.records if r.getMessage() == "push.retry"]
    assert retry.wait == 1.0  # type: ignore[attr-defined]
    first, second = push_server.requests
    assert second.at - first.at >= 1.0


# -- targets the notifier cannot send yet ---------------------------------------------


async def test_web_push_subscriptions_are_skipped_and_simplepush_still_sent(
    push_server: PushServer,
    make_notifier: NotifierFactory,
    metrics: CountingMetrics,
    caplog: pytest.LogCaptureFixture,
) -> None:
    notifier = make_notifier()
    with caplog.at_level(logging.INFO, logger="loop.push"):
        notifier.notify(
            [WEBPUSH, push_server.url("/simple")], topic="rooms", version=3, reason=REASON
        )
    assert metrics.count("loop.webpush.call", REASON, "skipped") == 1
    assert "push.unsupported" in [r.getMessage() for r in caplog.records]
    await notifier.drain()
    assert [r.path for r in push_server.requests] == ["/simple"]
    assert metrics.count(CALL, REASON, "success") == 1


async def test_malformed_targets_are_skipped_without_raising(
    make_notifier: NotifierFactory, metrics: CountingMetrics
) -> None:
    bad: list[Any] = [{"keys": {}}, 42, None]
    make_notifier().notify(bad, topic="rooms", version=1, reason=REASON)
    assert metrics.count("loop.invalid.call", REASON, "skipped") == 3


def test_targets_are_classified_by_shape() -> None:
    assert kind("https://push.example/x") == "simplepush"
    assert kind(WEBPUSH) == "webpush"
    assert kind({"endpoint": 1}) == "invalid"
    assert describe("https://push.example:8443/secret")["push_host"] == "push.example"
    assert describe("a") != describe("b")


# -- heartbeat (loop-api.md §4.2) -------------------------------------------------------


async def test_ping_is_ok_without_push_servers(
    make_notifier: NotifierFactory, metrics: CountingMetrics
) -> None:
    assert await make_notifier(push_server_uris=[]).ping() is True
    assert metrics.count("loop.simplepush.call.heartbeat", "success") == 1


async def test_ping_gets_status_over_http_for_a_ws_uri(
    push_server: PushServer, make_notifier: NotifierFactory, metrics: CountingMetrics
) -> None:
    notifier = make_notifier(push_server_uris=[push_server.ws_uri, push_server.url("/")])

    assert await notifier.ping() is True

    requests = await push_server.wait_for(2)
    assert [(r.method, r.path) for r in requests] == [("GET", "/status"), ("GET", "/status")]


@pytest.mark.parametrize("status", [500, 503, 404, 204])
async def test_ping_fails_unless_every_server_answers_200(
    push_server: PushServer,
    make_notifier: NotifierFactory,
    metrics: CountingMetrics,
    status: int,
) -> None:
    with PushServer() as healthy:
        push_server.respond_with(status, path="/status")
        notifier = make_notifier(push_server_uris=[healthy.ws_uri, push_server.ws_uri])
        assert await notifier.ping() is False
    assert metrics.count("loop.simplepush.call.heartbeat", "failure") == 1


async def test_ping_fails_within_the_heartbeat_timeout_when_a_server_hangs(
    push_server: PushServer, make_notifier: NotifierFactory
) -> None:
    push_server.hang(path="/status")
    notifier = make_notifier(push_server_uris=[push_server.ws_uri], heartbeat_timeout=0.2)

    async with asyncio.timeout(DEADLINE):  # the server never answers: only the limit ends it
        assert await notifier.ping() is False


async def test_ping_fails_for_unreachable_or_unusable_uris(
    make_notifier: NotifierFactory, refused_port: int
) -> None:
    assert (
        await make_notifier(push_server_uris=[f"ws://127.0.0.1:{refused_port}/"]).ping() is False
    )
    assert await make_notifier(push_server_uris=["ftp://push.example/"]).ping() is False


def test_status_url_maps_websocket_schemes_to_http() -> None:
    assert (
        status_url("wss://push.services.mozilla.com/")
        == "https://push.services.mozilla.com/status"
    )
    assert status_url("ws://localhost:8080/ws") == "http://localhost:8080/status"
    assert status_url("https://push.example") == "https://push.example/status"
    assert status_url("ftp://push.example/") is None
    assert status_url("wss:///nohost") is None


async def test_from_settings_reads_push_and_heartbeat_settings(
    http: httpx.AsyncClient,
) -> None:
    settings = dataclasses.replace(
        Settings(),
        push=PushSettings(timeout=0.5, max_concurrency=3, max_pending=9, close_grace=0.25),
        push_server_uris=["wss://a.example/"],
        heartbeat_timeout=1500,
    )
    notifier = PushNotifier.from_settings(settings, http=http)
    assert (notifier.timeout, notifier.max_pending, notifier.close_grace) == (0.5, 9, 0.25)
    assert notifier.push_server_uris == ("wss://a.example/",)
    assert notifier.heartbeat_timeout == 1.5
    await notifier.close()


@pytest.mark.parametrize(
    "variable",
    ["LOOP_PUSH__TIMEOUT=0", "LOOP_PUSH__MAX_CONCURRENCY=0", "LOOP_PUSH__MAX_PENDING=-1"],
)
def test_push_settings_are_checked_at_start_up(variable: str) -> None:
    name, _, value = variable.partition("=")
    with pytest.raises(ConfigError, match=name.removeprefix("LOOP_PUSH__").lower()):
        load_settings(environ={name: value})
