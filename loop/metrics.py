"""Metrics as a tiny protocol with a no-op default (decisions D19, style.md item 10).

Names are dotted and tagged like the original server's statsd calls
(``loop.simplepush.call`` tagged ``["rooms.notifyowner.join", "success"]``), so existing
dashboards keep working. Three implementations:

* :class:`NullMetrics` — the default: every call is a no-op, so instrumented code costs one
  method call when nobody listens;
* :class:`CountingMetrics` — keeps everything in memory, for tests and the bench;
* :class:`StatsdMetrics` — fire-and-forget UDP in the DogStatsD line format (``|#tags``),
  which is what the original's ``node-statsd`` client sent; chosen by ``[metrics]
  statsd_url = "udp://host:8125"``.

Metrics must never fail or slow a request: the statsd sender swallows socket errors and
never blocks (UDP, non-blocking socket).
"""

from __future__ import annotations

import collections
import socket
from collections.abc import Sequence
from typing import Protocol
from urllib.parse import urlsplit

from loop.config import ConfigError, MetricsSettings

Tags = Sequence[str]
"""Bare (``"success"``) or ``key:value`` (``"status:200"``) tags."""

MetricKey = tuple[str, tuple[str, ...]]


class Metrics(Protocol):
    def incr(self, name: str, value: int = 1, *, tags: Tags = ()) -> None:
        """Add ``value`` to a counter."""

    def timing(self, name: str, ms: float, *, tags: Tags = ()) -> None:
        """Record a duration in milliseconds."""

    def gauge(self, name: str, value: float, *, tags: Tags = ()) -> None:
        """Set a gauge to ``value``."""

    def close(self) -> None:
        """Release what the sink holds (a socket); it is not used afterwards."""


class NullMetrics:
    """Discards everything: the default when no metrics backend is configured."""

    def incr(self, name: str, value: int = 1, *, tags: Tags = ()) -> None:
        pass

    def timing(self, name: str, ms: float, *, tags: Tags = ()) -> None:
        pass

    def gauge(self, name: str, value: float, *, tags: Tags = ()) -> None:
        pass

    def close(self) -> None:
        pass


class CountingMetrics:
    """Keeps every metric in memory, keyed by ``(name, tags)``; for tests and the bench."""

    def __init__(self) -> None:
        self.counters: collections.Counter[MetricKey] = collections.Counter()
        self.timings: dict[MetricKey, list[float]] = collections.defaultdict(list)
        self.gauges: dict[MetricKey, float] = {}

    def incr(self, name: str, value: int = 1, *, tags: Tags = ()) -> None:
        self.counters[name, tuple(tags)] += value

    def timing(self, name: str, ms: float, *, tags: Tags = ()) -> None:
        self.timings[name, tuple(tags)].append(ms)

    def gauge(self, name: str, value: float, *, tags: Tags = ()) -> None:
        self.gauges[name, tuple(tags)] = value

    def count(self, name: str, *tags: str) -> int:
        """The total of counter ``name`` over every tag set that includes all of ``tags``
        (``count("loop.simplepush.call", "failure")`` sums over every reason)."""
        wanted = set(tags)
        return sum(
            value
            for (key, key_tags), value in self.counters.items()
            if key == name and wanted.issubset(key_tags)
        )

    def close(self) -> None:
        pass

    def reset(self) -> None:
        self.counters.clear()
        self.timings.clear()
        self.gauges.clear()


class StatsdMetrics:
    """Sends each metric as one DogStatsD UDP datagram, e.g. ``loop.x:1|c|#a,b``.

    The address is resolved once, at start-up, so sending is a single non-blocking
    ``sendto``; a full buffer or an absent collector drops the metric silently.
    """

    def __init__(self, host: str, port: int) -> None:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
        self._address = address
        self._socket = socket.socket(family, kind, proto)
        self._socket.setblocking(False)

    def incr(self, name: str, value: int = 1, *, tags: Tags = ()) -> None:
        self._send(f"{name}:{value}|c", tags)

    def timing(self, name: str, ms: float, *, tags: Tags = ()) -> None:
        self._send(f"{name}:{ms:g}|ms", tags)

    def gauge(self, name: str, value: float, *, tags: Tags = ()) -> None:
        self._send(f"{name}:{value:g}|g", tags)

    def close(self) -> None:
        self._socket.close()

    def _send(self, line: str, tags: Tags) -> None:
        if tags:
            line = f"{line}|#{','.join(tags)}"
        try:
            self._socket.sendto(line.encode(), self._address)
        except OSError:
            pass  # metrics are best-effort: never fail the caller


class TeeMetrics:
    """Sends every metric to each of several sinks (Prometheus and statsd together)."""

    def __init__(self, sinks: Sequence[Metrics]) -> None:
        self.sinks = tuple(sinks)

    def incr(self, name: str, value: int = 1, *, tags: Tags = ()) -> None:
        for sink in self.sinks:
            sink.incr(name, value, tags=tags)

    def timing(self, name: str, ms: float, *, tags: Tags = ()) -> None:
        for sink in self.sinks:
            sink.timing(name, ms, tags=tags)

    def gauge(self, name: str, value: float, *, tags: Tags = ()) -> None:
        for sink in self.sinks:
            sink.gauge(name, value, tags=tags)

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()


def from_settings(settings: MetricsSettings, *also: Metrics) -> Metrics:
    """What the server's events go to: ``StatsdMetrics`` when ``statsd_url`` is set, and
    ``also`` (the app's Prometheus collectors); ``NullMetrics`` when neither."""
    sinks = list(also)
    if settings.statsd_url:
        host, port = parse_statsd_url(settings.statsd_url)
        try:
            sinks.append(StatsdMetrics(host, port))
        except OSError as exc:
            raise ConfigError(f"metrics.statsd_url: cannot resolve {host!r}: {exc}") from None
    if not sinks:
        return NullMetrics()
    return sinks[0] if len(sinks) == 1 else TeeMetrics(sinks)


def parse_statsd_url(url: str) -> tuple[str, int]:
    """``udp://host[:port]`` (port 8125 by default) → ``(host, port)``."""
    parts = urlsplit(url)
    try:
        port = parts.port or 8125
    except ValueError:
        port = -1
    if parts.scheme != "udp" or not parts.hostname or port <= 0:
        raise ConfigError(f"metrics.statsd_url: expected udp://host[:port], got {url!r}")
    return parts.hostname, port
