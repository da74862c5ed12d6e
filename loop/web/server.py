"""The HTTP server's defences against slow, idle and surplus clients, and its bounded stop.

uvicorn bounds idle keep-alive connections (``timeout_keep_alive``) and, given a timeout, a
graceful shutdown; nothing else. A client may take forever to send its headers or body, and
its only connection cap (``limit_concurrency``) answers 503 to *every* request once idle
sockets fill it. A few hundred sockets that trickle headers would exhaust the open-file limit
and stop every real request. So :class:`GuardedHttpToolsProtocol`, uvicorn's httptools
protocol with three timers and two queues, adds:

* a **header timeout**: a request's headers must arrive within ``header_timeout`` of the
  connection opening (first request) or of the request's first byte (later ones); past it
  a request begun gets ``408`` and the connection is closed (a silent one is just closed);
* a **body timeout**: a body may pause at most ``body_timeout`` between two pieces; past it
  ``408`` and close; the route sees a disconnect (a clean 400), never a 500;
* a **connection cap**: past ``max_connections`` open connections (websockets included), the
  connection that has waited longest *without an active request* (idle keep-alive, or still
  sending its headers) is closed; one that has sent nothing yet only after
  ``FIRST_BYTE_GRACE``; failing both, the newcomer. Requests in progress are never cut, so
  real clients keep being served under a slow-socket flood;
* a **drain bound**: on shutdown, a request still in progress after ``drain_timeout`` gets
  ``503`` (or, mid-response, a close), so a stalled upload cannot keep the process alive.

:class:`DrainingServer` is uvicorn's server made to exit 0 after a SIGTERM drain. Websockets
need nothing here: their protocol (:mod:`loop.web.websocket`) closes them with 1012
(service restart: reconnect) at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import http
import resource
import signal
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from loop.web.writes import ResponseWrites

MIN_CONNECTIONS = 16
"""The fewest connections a derived cap may leave; an open-file limit that low is refused."""

FIRST_BYTE_GRACE = 1.0
"""Seconds a new connection that has sent nothing yet is spared from shedding: real clients
send their request with the connection, but under a flood the server may take a while to
read it, and a burst of accepts must not shed its own clients before reading them."""


@dataclasses.dataclass(frozen=True, slots=True)
class ConnectionLimits:
    header_timeout: float
    body_timeout: float
    max_connections: int
    drain_timeout: float


def derived_connection_cap(max_connections: int, reserved_files: int) -> int:
    """``max_connections``, or when 0 the open-file limit less ``reserved_files`` (what the
    storage, logs and outgoing requests need). ValueError when that leaves too few."""
    if max_connections > 0:
        return max_connections
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        soft = 1 << 20
    cap = soft - reserved_files
    if cap < MIN_CONNECTIONS:
        raise ValueError(
            f"server.max_connections: the open-file limit ({soft}) less server.reserved_files "
            f"({reserved_files}) leaves {cap} connections; raise `ulimit -n` or set "
            "server.max_connections"
        )
    return cap


class WaitingConnections:
    """The connections with no request in progress, longest waiting first: the ones to
    shed when there are too many. A dict keeps insertion order and removes in O(1)."""

    def __init__(self) -> None:
        self._queue: dict[GuardedHttpToolsProtocol, None] = {}

    def __len__(self) -> int:
        return len(self._queue)

    def add(self, connection: GuardedHttpToolsProtocol) -> None:
        """(Re)queue ``connection`` at the back: it starts waiting now."""
        self._queue.pop(connection, None)
        self._queue[connection] = None

    def discard(self, connection: GuardedHttpToolsProtocol) -> None:
        self._queue.pop(connection, None)

    def longest_waiting(self) -> GuardedHttpToolsProtocol | None:
        return next(iter(self._queue), None)


def _plain_answer(status: int) -> bytes:
    phrase = http.HTTPStatus(status).phrase.encode()
    return (
        b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\n"
        b"content-length: %d\r\nconnection: close\r\n\r\n%s"
        % (status, phrase, len(phrase), phrase)
    )


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the timers and the cap of the module docstring.
    Use :func:`protocol_class`, which binds the limits and the queues to one server."""

    limits: ClassVar[ConnectionLimits]
    waiting: ClassVar[WaitingConnections]
    """Connections that sent part of a request's headers, or idle after a response."""
    fresh: ClassVar[WaitingConnections]
    """Connections that have sent nothing yet."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._drain_timer: asyncio.TimerHandle | None = None
        self._reading_headers = False
        """A request has begun and its headers are not complete yet."""
        self._accepted_at = 0.0
        self._silent = True
        """Nothing received yet: queued in ``fresh``, not ``waiting``."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._accepted_at = self.loop.time()
        self._header_timer = self.loop.call_later(self.limits.header_timeout, self._too_slow)
        self.fresh.add(self)
        if len(self.connections) > self.limits.max_connections:
            self._shed_one()

    def _shed_one(self) -> None:
        """The longest-waiting connection that has shown itself slow or idle goes, else a
        silent one past its grace, else this newcomer."""
        shed = self.waiting.longest_waiting()
        if shed is None:
            shed = self.fresh.longest_waiting()
            if shed is None or self.loop.time() - shed._accepted_at < FIRST_BYTE_GRACE:
                shed = self
        shed._close(503)

    def data_received(self, data: bytes) -> None:
        if self._silent:
            self._silent = False
            self.fresh.discard(self)
            self.waiting.add(self)
        super().data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self._forget()
        self._cancel_timers()
        super().connection_lost(exc)

    def _forget(self) -> None:
        self.waiting.discard(self)
        self.fresh.discard(self)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._reading_headers = True
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.limits.header_timeout, self._too_slow)

    def on_headers_complete(self) -> None:
        self._reading_headers = False
        self._header_timer = _cancelled(self._header_timer)
        self.waiting.discard(self)
        cycle = self.cycle
        super().on_headers_complete()
        if self.cycle is not cycle:  # a request's cycle (not a websocket upgrade)
            self.cycle.transport = ResponseWrites(self.transport, self.loop)  # type: ignore[assignment]
        self._body_timer = self.loop.call_later(self.limits.body_timeout, self._body_stalled)

    def on_body(self, body: bytes) -> None:
        super().on_body(body)
        _cancelled(self._body_timer)
        self._body_timer = self.loop.call_later(self.limits.body_timeout, self._body_stalled)

    def on_message_complete(self) -> None:
        self._body_timer = _cancelled(self._body_timer)
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        idle = self.cycle.response_complete and not self.pipeline  # none pipelined started
        if idle and not self.transport.is_closing() and self._drain_timer is None:
            self.waiting.add(self)

    def handle_websocket_upgrade(self) -> None:
        """The websocket protocol takes the transport over; this one never hears of it again."""
        self._forget()
        self._cancel_timers()
        super().handle_websocket_upgrade()

    def shutdown(self) -> None:
        """uvicorn closes idle connections and lets active requests finish; a request still
        in progress after ``drain_timeout`` is cut."""
        self._forget()
        super().shutdown()
        if not self.transport.is_closing():
            self._drain_timer = self.loop.call_later(self.limits.drain_timeout, self._close, 503)

    def _too_slow(self) -> None:
        self._header_timer = None
        self._close(408)

    def _body_stalled(self) -> None:
        """Only the client's silence counts: not a pause we asked for (the app is not reading
        yet, or the client waits for our ``100 Continue``)."""
        self._body_timer = None
        if self.flow.read_paused or self.cycle.waiting_for_100_continue:
            self._body_timer = self.loop.call_later(self.limits.body_timeout, self._body_stalled)
            return
        self._close(408)

    def _close(self, status: int) -> None:
        """Close, answering ``status`` first if someone awaits an answer: a request whose
        headers are coming, or one in progress with no response begun. A request in
        progress sees a disconnect (its own answer, if any, goes nowhere); an idle
        connection is closed without a word, as keep-alive connections are."""
        self._forget()
        if self.transport.is_closing():
            return
        cycle = self.cycle
        in_progress = cycle is not None and not cycle.response_complete
        if (in_progress and not cycle.response_started) or (
            not in_progress and self._reading_headers
        ):
            self.transport.write(_plain_answer(status))
        if in_progress:
            cycle.disconnected = True
            cycle.message_event.set()
        self.transport.close()

    def _cancel_timers(self) -> None:
        self._header_timer = _cancelled(self._header_timer)
        self._body_timer = _cancelled(self._body_timer)
        self._drain_timer = _cancelled(self._drain_timer)


def _cancelled(timer: asyncio.TimerHandle | None) -> asyncio.TimerHandle | None:
    """Cancel ``timer`` if set; None, to store in its place."""
    if timer is not None:
        timer.cancel()
    return None


def protocol_class(limits: ConnectionLimits) -> type[GuardedHttpToolsProtocol]:
    """A protocol class for one server (uvicorn's ``http=``): ``limits`` and queues of
    waiting connections shared by that server's connections only."""

    class ServerProtocol(GuardedHttpToolsProtocol):
        pass

    ServerProtocol.limits = limits
    ServerProtocol.waiting = WaitingConnections()
    ServerProtocol.fresh = WaitingConnections()
    return ServerProtocol


class DrainingServer(uvicorn.Server):
    """uvicorn's server, except for what happens after a SIGTERM/SIGINT drain.

    uvicorn raises the caught signal again once it has stopped, so that the default action
    runs; for SIGTERM that kills the process (status -15) after a clean drain, which service
    managers and orchestrators count as a crash. Here the drain is the whole answer to the
    signal and the process exits 0."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        signals = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in signals}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
