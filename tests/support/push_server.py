"""A local stand-in push service: a real HTTP server on a free loopback port.

It plays both sides a Loop server talks to: the SimplePush/Web Push endpoints it
``PUT``s/``POST``s notifications to, and the ``GET /status`` the heartbeat checks. It runs
in a background thread (so it works under any event loop, sync or async tests), records
every request *when it arrives* (before any delay), and answers by rules you set.

API::

    server = PushServer().start()          # or: with PushServer() as server: ...
    server.url("/push/abc")                # "http://127.0.0.1:<port>/push/abc"
    server.ws_uri                          # "ws://127.0.0.1:<port>/" for push_server_uris
    server.respond_with(500)               # every path: 500 from now on
    server.respond_with(200, delay=1.5)    # answer after 1.5 s
    server.respond_with(410, path="/gone") # only this path (exact match)
    server.respond_with(503, headers={"Retry-After": "1"}, times=2)  # the next 2, then as before
    server.hang(path="/stuck")             # never answer (until release() or stop())
    server.release()                       # let hanging requests finish (they get their status)
    server.reset()                         # back to 200, no delay, for every path
    await server.wait_for(2, timeout=5)    # the first 2 requests, or AssertionError
    server.requests                        # [PushRequest(method, path, headers, body)]
    server.stop()

Defaults: every path answers ``200`` with an empty body, immediately. Pass an
``ssl.SSLContext`` to serve HTTPS (``origin`` then starts ``https://``).
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import http.server
import math
import ssl
import threading
import time
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs

from tests.support.waiting import DEADLINE, eventually

HANG = math.inf
"""A delay meaning "never answer" (until :meth:`PushServer.release` or ``stop``)."""


@dataclasses.dataclass(frozen=True)
class PushRequest:
    method: str
    path: str
    headers: dict[str, str]
    """Lower-cased names."""
    body: bytes
    at: float = dataclasses.field(default_factory=time.monotonic, compare=False)
    """When it arrived (``time.monotonic()``), to measure gaps between retries."""

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def form(self) -> dict[str, str]:
        return {key: values[-1] for key, values in parse_qs(self.text).items()}


@dataclasses.dataclass(frozen=True)
class _Rule:
    status: int = 200
    delay: float = 0.0
    headers: tuple[tuple[str, str], ...] = ()


class PushServer:
    def __init__(self, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self.requests: list[PushRequest] = []
        self._lock = threading.Lock()
        self._default = _Rule()
        self._rules: dict[str, _Rule] = {}
        self._queued: dict[str | None, collections.deque[_Rule]] = {}
        self._release = threading.Event()
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._scheme = "http"
        if ssl_context is not None:
            self._httpd.socket = ssl_context.wrap_socket(self._httpd.socket, server_side=True)
            self._scheme = "https"
        self._httpd.push_server = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    # -- life cycle -----------------------------------------------------------------

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release hanging requests, stop serving and close the socket."""
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses ----------------------------------------------------------------

    @property
    def origin(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"{self._scheme}://{host!s}:{port}"

    @property
    def ws_uri(self) -> str:
        """This server as a ``push_server_uris`` entry (the heartbeat maps ws → http)."""
        return "ws" + self.origin.removeprefix("http") + "/"

    def url(self, path: str = "/") -> str:
        return self.origin + (path if path.startswith("/") else "/" + path)

    # -- behaviour ----------------------------------------------------------------

    def respond_with(
        self,
        status: int = 200,
        delay: float = 0.0,
        *,
        path: str | None = None,
        headers: dict[str, str] | None = None,
        times: int | None = None,
    ) -> None:
        """Answer ``status`` (with ``headers``) after ``delay`` seconds (:data:`HANG`:
        never), for ``path`` only (exact match, query string excluded) or, when None, for
        every other path. With ``times``, only the next ``times`` such requests answer so
        (queued after earlier ``times`` rules), then the standing rules apply again."""
        rule = _Rule(status, delay, tuple((headers or {}).items()))
        with self._lock:
            if times is not None:
                self._queued.setdefault(path, collections.deque()).extend([rule] * times)
            elif path is None:
                self._default = rule
            else:
                self._rules[path] = rule
            self._release.clear()  # a new delay applies even after an earlier release()

    def hang(self, *, path: str | None = None, status: int = 200) -> None:
        """Never answer (until :meth:`release` or :meth:`stop`); then answer ``status``."""
        self.respond_with(status, HANG, path=path)

    def release(self) -> None:
        """Let every request that is waiting out a delay answer now."""
        self._release.set()

    def reset(self) -> None:
        """Forget the rules (200, immediately, everywhere), release waiters, keep requests."""
        with self._lock:
            self._default = _Rule()
            self._rules.clear()
            self._queued.clear()
        self._release.set()

    def rule_for(self, path: str) -> _Rule:
        """The rule for a request that just arrived (consumes a ``times`` rule)."""
        path = path.partition("?")[0]
        with self._lock:
            for key in (path, None):
                queued = self._queued.get(key)
                if queued:
                    return queued.popleft()
            return self._rules.get(path, self._default)

    def record(self, request: PushRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def wait_delay(self, delay: float) -> None:
        """Block this request's thread for ``delay`` seconds, or until released."""
        self._release.wait(None if delay == HANG else delay)

    # -- waiting --------------------------------------------------------------------

    async def wait_for(self, n: int, timeout: float = DEADLINE) -> list[PushRequest]:
        """The first ``n`` requests, as soon as they have arrived; AssertionError
        (listing what did arrive) once ``timeout`` seconds have passed without them."""

        def arrived() -> bool:
            with self._lock:
                return len(self.requests) >= n

        try:
            await eventually(arrived, what=f"{n} push requests", timeout=timeout)
        except AssertionError as exc:
            got = [f"{r.method} {r.path}" for r in self.snapshot()]
            raise AssertionError(f"{exc}; got {got}") from None
        return self.snapshot()[:n]

    def snapshot(self) -> list[PushRequest]:
        """The requests so far (a copy: the server thread keeps appending)."""
        with self._lock:
            return list(self.requests)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    @property
    def push_server(self) -> PushServer:
        return self.server.push_server  # type: ignore[attr-defined,no-any-return]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        """Quiet: pytest output is not the place for access logs."""

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {key.lower(): value for key, value in self.headers.items()}
        self.push_server.record(PushRequest(self.command, self.path, headers, body))
        rule = self.push_server.rule_for(self.path)
        if rule.delay:
            self.push_server.wait_delay(rule.delay)
        with contextlib.suppress(OSError):  # the client may have given up (timeouts)
            self.send_response(rule.status)
            for name, value in rule.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

    do_GET = do_PUT = do_POST = do_DELETE = _handle
