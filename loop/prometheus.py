"""Prometheus metrics: what a dashboard of a Loop deployment plots.

One :class:`PrometheusMetrics` per app holds the collectors:

* ``loop_http_requests_total{method, route, status}`` and
  ``loop_http_request_duration_seconds{method, route}``: every answer, by route *template*
  (``/rooms/{token}``), never by path, so neither tokens nor unbounded label values reach
  the metrics;
* ``loop_websockets_open{route}``: call-progress and signalling sockets held right now;
* ``loop_storage_round_trips_total`` and ``loop_backend_errors_total``: what requests cost
  the storage, and how often a backend failed them (answered 503 errno 201);
* ``loop_events_total{name, tags}`` and ``loop_event_duration_seconds{name, tags}``: the
  statsd-style events the server already counts (push deliveries and their outcomes,
  heartbeats, dropped notifications), through the :class:`~loop.metrics.Metrics` protocol;
* ``loop_rooms_active`` and ``loop_participants_active``: rooms in use and the people in
  them, read from the storage by a background job (a scrape never waits on the storage);
* the process's CPU, memory and file descriptors.

Several worker processes (``PROMETHEUS_MULTIPROC_DIR`` set before start, as
``prometheus_client`` requires) write their values to files there and any of them answers
a scrape with the sum (:func:`exposition`); process metrics are then left out, since they
cannot be summed.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
    start_http_server,
)
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from loop.metrics import Tags

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The text format every Prometheus server reads (``generate_latest`` writes it; our names
need nothing newer)."""

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
"""Seconds; most answers take a millisecond or two, a storage timeout takes seconds."""

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

BACKEND_ERRNO = 201
"""loop-api.md §1.5: any backend failure during a request."""


def multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROCESS_ENV))


class PrometheusMetrics:
    """The collectors of one app, in their own registry (tests run many apps per process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.requests = Counter(
            "loop_http_requests",
            "HTTP answers, by method, route template and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "loop_http_request_duration_seconds",
            "Time from a request's arrival to its last answer byte, by route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.websockets = Gauge(
            "loop_websockets_open",
            "Websockets open now, by route template (call progress, signalling).",
            ["route"],
            multiprocess_mode="livesum",
            registry=registry,
        )
        self.round_trips = Counter(
            "loop_storage_round_trips",
            "Round trips to the storage backend (Redis scripts, SQLite transactions).",
            registry=registry,
        )
        self.backend_errors = Counter(
            "loop_backend_errors",
            "Requests a backend failed (answered 503 errno 201): mostly the storage.",
            registry=registry,
        )
        self.events = Counter(
            "loop_events",
            "Events counted the statsd way (push deliveries by reason and outcome...).",
            ["name", "tags"],
            registry=registry,
        )
        self.event_seconds = Histogram(
            "loop_event_duration_seconds",
            "Durations of timed events (push deliveries...).",
            ["name", "tags"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.levels = Gauge(
            "loop_event_level",
            "Levels reported the statsd way.",
            ["name", "tags"],
            multiprocess_mode="livemostrecent",
            registry=registry,
        )
        self.rooms_active = Gauge(
            "loop_rooms_active",
            "Rooms with at least one participant, as the storage last said.",
            multiprocess_mode="mostrecent",
            registry=registry,
        )
        self.participants_active = Gauge(
            "loop_participants_active",
            "Participants in rooms, as the storage last said.",
            multiprocess_mode="mostrecent",
            registry=registry,
        )
        self._round_trips_seen = 0
        self._request_series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        if not multiprocess():
            ProcessCollector(registry=registry)
            PlatformCollector(registry=registry)

    # -- HTTP, websockets, storage ---------------------------------------------------------

    def request(self, method: str, route: str, status: int, errno: int, seconds: float) -> None:
        method = method if method in KNOWN_METHODS else "other"
        key = (method, route, status)
        series = self._request_series.get(key)
        if series is None:
            series = self._request_series[key] = self._series_of(method, route, status)
        count, latency = series
        count.inc()
        latency.observe(seconds)
        if status == 503 and errno == BACKEND_ERRNO:
            self.backend_errors.inc()

    def _series_of(self, method: str, route: str, status: int) -> tuple[Counter, Histogram]:
        """The labelled series a request is counted in. Looked up once per kind of
        request and kept: ``labels()`` validates, locks and builds a key on each call,
        which was a tenth of a heartbeat's CPU. Methods, route templates and statuses
        are finite, so the kept series are too (an unknown method counts as ``other``)."""
        return (
            self.requests.labels(method, route, str(status)),
            self.latency.labels(method, route),
        )

    def websocket_opened(self, route: str) -> None:
        self.websockets.labels(route).inc()

    def websocket_closed(self, route: str) -> None:
        self.websockets.labels(route).dec()

    def sync_round_trips(self, total: int) -> None:
        """Bring the counter up to the storage's own running total (``StorageStats``),
        which the backends keep without knowing of Prometheus."""
        if total > self._round_trips_seen:
            self.round_trips.inc(total - self._round_trips_seen)
        self._round_trips_seen = total

    def activity(self, rooms: int, participants: int) -> None:
        self.rooms_active.set(rooms)
        self.participants_active.set(participants)

    # -- the Metrics protocol (loop.metrics) -----------------------------------------------

    def incr(self, name: str, value: int = 1, *, tags: Tags = ()) -> None:
        self.events.labels(name, ",".join(tags)).inc(value)

    def timing(self, name: str, ms: float, *, tags: Tags = ()) -> None:
        self.event_seconds.labels(name, ",".join(tags)).observe(ms / 1000)

    def gauge(self, name: str, value: float, *, tags: Tags = ()) -> None:
        self.levels.labels(name, ",".join(tags)).set(value)

    def close(self) -> None:
        pass  # the registry lives as long as the app; a scrape may still read it

    # -- exposition ------------------------------------------------------------------------

    def exposition_registry(self) -> CollectorRegistry:
        """What a scrape reads: this app's registry, or every worker's files when several
        processes share ``PROMETHEUS_MULTIPROC_DIR``."""
        if not multiprocess():
            return self.registry
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry

    def exposition(self) -> bytes:
        return generate_latest(self.exposition_registry())

    @staticmethod
    def process_exited(pid: int | None = None) -> None:
        """Forget a stopped process's live gauges (its open websockets) in multiprocess
        mode; its counters stay, as Prometheus expects of counters."""
        if multiprocess():
            mark_process_dead(pid if pid is not None else os.getpid())  # type: ignore[no-untyped-call]


class MetricsListener:
    """The metrics on a port of their own (``metrics.port``): prometheus_client's small
    HTTP server, in a thread, serving only the exposition."""

    def __init__(self, metrics: PrometheusMetrics, host: str, port: int) -> None:
        self._server, self._thread = start_http_server(
            port, addr=host, registry=metrics.exposition_registry()
        )

    @property
    def port(self) -> int:
        return int(self._server.server_port)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
