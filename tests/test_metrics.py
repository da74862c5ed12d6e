"""The metrics protocol: no-op default, in-memory counting, DogStatsD over UDP."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from loop.config import ConfigError, MetricsSettings, load_settings
from loop.metrics import (
    CountingMetrics,
    Metrics,
    NullMetrics,
    StatsdMetrics,
    from_settings,
    parse_statsd_url,
)


@pytest.fixture
def collector() -> Iterator[socket.socket]:
    """A UDP socket standing in for a statsd daemon."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(5)
        yield sock


def test_every_implementation_satisfies_the_protocol() -> None:
    implementations: list[Metrics] = [NullMetrics(), CountingMetrics()]
    for metrics in implementations:
        metrics.incr("a")
        metrics.timing("b", 1.5, tags=["x"])
        metrics.gauge("c", 3)


def test_counting_metrics_sums_over_tag_subsets() -> None:
    metrics = CountingMetrics()
    metrics.incr("loop.simplepush.call", tags=["call.direct", "success"])
    metrics.incr("loop.simplepush.call", tags=["call.token", "success"])
    metrics.incr("loop.simplepush.call", 2, tags=["call.token", "failure"])
    metrics.incr("loop.other")

    assert metrics.count("loop.simplepush.call") == 4
    assert metrics.count("loop.simplepush.call", "success") == 2
    assert metrics.count("loop.simplepush.call", "call.token", "failure") == 2
    assert metrics.count("loop.simplepush.call", "call.direct", "failure") == 0
    assert metrics.count("loop.missing") == 0


def test_counting_metrics_keeps_timings_and_gauges_until_reset() -> None:
    metrics = CountingMetrics()
    metrics.timing("t", 1.0, tags=["a"])
    metrics.timing("t", 2.0, tags=["a"])
    metrics.gauge("g", 5)
    metrics.gauge("g", 7)
    assert metrics.timings["t", ("a",)] == [1.0, 2.0]
    assert metrics.gauges["g", ()] == 7
    metrics.reset()
    assert not (metrics.counters or metrics.timings or metrics.gauges)


def test_statsd_sends_dogstatsd_lines(collector: socket.socket) -> None:
    port = collector.getsockname()[1]
    metrics = StatsdMetrics("127.0.0.1", port)
    try:
        metrics.incr("loop.simplepush.call", tags=["call.direct", "success"])
        metrics.timing("loop.req", 12.5)
        metrics.gauge("loop.pending", 3, tags=["kind:simplepush"])
        lines = [collector.recv(1024).decode() for _ in range(3)]
    finally:
        metrics.close()
    assert lines == [
        "loop.simplepush.call:1|c|#call.direct,success",
        "loop.req:12.5|ms",
        "loop.pending:3|g|#kind:simplepush",
    ]


def test_statsd_never_raises_when_the_socket_fails() -> None:
    metrics = StatsdMetrics("127.0.0.1", 9)
    metrics.close()  # every sendto now fails with OSError
    metrics.incr("still.fine")


def test_from_settings_picks_null_or_statsd(collector: socket.socket) -> None:
    assert isinstance(from_settings(MetricsSettings()), NullMetrics)
    port = collector.getsockname()[1]
    metrics = from_settings(MetricsSettings(statsd_url=f"udp://127.0.0.1:{port}"))
    assert isinstance(metrics, StatsdMetrics)
    metrics.close()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("udp://stats.example", ("stats.example", 8125)),
        ("udp://10.0.0.1:9125", ("10.0.0.1", 9125)),
    ],
)
def test_statsd_urls(url: str, expected: tuple[str, int]) -> None:
    assert parse_statsd_url(url) == expected


@pytest.mark.parametrize("url", ["tcp://stats:8125", "udp://", "udp://host:notaport", "stats"])
def test_bad_statsd_urls_name_the_setting(url: str) -> None:
    with pytest.raises(ConfigError, match="metrics.statsd_url"):
        parse_statsd_url(url)


def test_the_setting_is_checked_at_start_up() -> None:
    settings = load_settings(environ={"LOOP_METRICS__STATSD_URL": "udp://stats:9125"})
    assert settings.metrics.statsd_url == "udp://stats:9125"
    with pytest.raises(ConfigError, match="metrics.statsd_url"):
        load_settings(environ={"LOOP_METRICS__STATSD_URL": "stats:8125"})
