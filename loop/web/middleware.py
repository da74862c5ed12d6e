"""The one middleware every HTTP answer goes through (loop-api.md §1.3-§1.4, D4, D25, D27).

A single pure-ASGI layer rather than a stack of them: each layer costs a coroutine hop per
message, and these concerns all act at the same place (the response start). It:

* answers CORS pre-flights and adds CORS headers for allowed origins, errors included;
* adds ``Date`` (Firefox corrects its Hawk clock from it), ``Timestamp`` on 200/401,
  ``Retry-After`` on 503/429, and ``Server-Authorization`` once Hawk verified the caller;
* turns any exception a route let escape into the answer :func:`~loop.web.failures.last_resort`
  picks (500 errno 999, or 503 errno 201 for a backend failure), with no internal detail;
* gives each request an id (a sane ``X-Request-Id`` from the client, else a new one), echoes
  it as ``X-Request-Id`` and puts it on every log line written while serving the request;
* writes one MozLog ``request.summary`` line per request (``websocket.summary`` per socket),
  naming the route by its template (``/rooms/{token}``), never the path or query string
  that carry tokens (issue 12.6), and the client by :func:`~loop.web.clients.client_address`;
* counts the same in Prometheus (:mod:`loop.prometheus`): answers and their latency by
  route template, websockets open.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Iterable
from email.utils import formatdate

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from loop.clock import Clock
from loop.errors import LoopError
from loop.jsonutil import dumps
from loop.logging import log_fields, request_id
from loop.prometheus import PrometheusMetrics
from loop.storage.checks import CheckSlot, SessionCheckFailed, request_checks
from loop.web.clients import CLIENT_KEY, client_address, parse_networks
from loop.web.failures import (
    ERRNO_KEY,
    SERVER_AUTHORIZATION_KEY,
    STALE_SESSION_KEY,
    last_resort,
    session_check_answer,
)

__all__ = ["SERVER_AUTHORIZATION_KEY", "LoopMiddleware", "route_template"]

logger = logging.getLogger("loop.request")

REQUEST_ID_KEY = "loop.rid"
"""Scope key holding the request's id (also in :data:`loop.logging.request_id`)."""

UNMATCHED = "unmatched"
"""The ``path`` logged for a request no route took: its path is the client's text."""

_SANE_REQUEST_ID = re.compile(rb"[\x21-\x7e]{1,128}")
"""A client's ``X-Request-Id`` is kept only if it is 1-128 visible ASCII characters, so a
log line cannot be split, padded or coloured through it."""

_CORS_METHODS = b"GET,HEAD,PUT,PATCH,POST,DELETE"
_CORS_DEFAULT_HEADERS = b"Content-Type,Authorization"
_CORS_EXPOSED = b"Hawk-Session-Token,Date"
"""What the browser pages read when served from another origin: a new session's token, and
the server's clock for Hawk timestamps."""


class LoopMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        clock: Clock,
        allowed_origins: Iterable[str],
        retry_after: int,
        trusted_proxies: Iterable[str] = (),
        prometheus: PrometheusMetrics | None = None,
    ) -> None:
        self.app = app
        self.prometheus = prometheus
        self.trusted_proxies = parse_networks(trusted_proxies)
        self.clock = clock
        origins = set(allowed_origins)
        self.any_origin = "*" in origins
        self.allowed_origins = {origin.encode("latin-1") for origin in origins}
        self.retry_after = str(retry_after).encode()
        self._date_second = -1
        self._date_value = b""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        rid = _request_id(scope)
        scope[REQUEST_ID_KEY] = rid
        scope[CLIENT_KEY] = client_address(scope, self.trusted_proxies)
        token = request_id.set(rid)
        try:
            if scope["type"] == "http":
                await self._serve(scope, receive, send, rid.encode())
            else:  # a socket's own lines (signalling, call progress) carry the rid too
                await self._socket(scope, receive, send)
        finally:
            request_id.reset(token)

    async def _serve(self, scope: Scope, receive: Receive, send: Send, rid: bytes) -> None:
        origin = _header(scope, b"origin")
        allowed_origin = origin if origin is not None and self._allowed(origin) else None
        if scope["method"] == "OPTIONS" and origin is not None:
            await self._preflight(scope, send, allowed_origin, rid)
            return
        started = time.perf_counter()
        status = 500
        response_started = False
        refused = False
        discarding = False
        current = scope
        pristine = dict(scope)
        body = RecordedBody(receive)
        slot = CheckSlot()
        checks = request_checks.set(slot)

        async def send_with_headers(message: Message) -> None:
            nonlocal status, response_started, refused, discarding
            if discarding:
                return
            if message["type"] == "http.response.start":
                if slot.check is not None and not refused:
                    refused = await self._settle(
                        slot, current, send_with_headers, again=current is scope
                    )
                    if refused:
                        return
                if current.get(STALE_SESSION_KEY) and current is scope:
                    discarding = True  # answered again below, with the session looked up
                    return
                response_started = True
                status = message["status"]
                message["headers"] = self._response_headers(
                    current, message.get("headers", []), status, allowed_origin
                )
                message["headers"].append((b"x-request-id", rid))
            elif refused:
                return  # the body of the answer the refusal replaced
            await send(message)

        try:
            await self.app(scope, body.receive, send_with_headers)
            if discarding:
                # The session this process remembered was bound to another user by another
                # process, and nothing of the request was done: serve it once more, the
                # session looked up afresh (loop/storage/checks.py), rather than answer a
                # 401 the client would have to re-send.
                discarding, current = False, pristine
                slot.check = None
                await self.app(current, body.replay, send_with_headers)
        except Exception as exc:  # the last line of defence
            if response_started:
                raise
            status = await self._send_failure(current, send_with_headers, exc)
        finally:
            request_checks.reset(checks)
            elapsed = time.perf_counter() - started
            self._log_summary(current, status, elapsed)
            if self.prometheus is not None:
                template = route_template(current)
                errno = current.get(ERRNO_KEY, 0)
                self.prometheus.request(current["method"], template, status, errno, elapsed)

    def _allowed(self, origin: bytes) -> bool:
        return self.any_origin or origin in self.allowed_origins

    async def _preflight(
        self, scope: Scope, send: Send, allowed_origin: bytes | None, rid: bytes
    ) -> None:
        headers = [(b"content-length", b"0"), (b"x-request-id", rid)]
        if allowed_origin is not None:
            requested = _header(scope, b"access-control-request-headers")
            headers += [
                (b"access-control-allow-origin", allowed_origin),
                (b"vary", b"Origin"),
                (b"access-control-allow-methods", _CORS_METHODS),
                (b"access-control-allow-headers", requested or _CORS_DEFAULT_HEADERS),
                (b"access-control-max-age", b"86400"),
            ]
        headers.append((b"date", self._date()))
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    def _response_headers(
        self,
        scope: Scope,
        headers: list[tuple[bytes, bytes]],
        status: int,
        allowed_origin: bytes | None,
    ) -> list[tuple[bytes, bytes]]:
        headers = list(headers)
        headers.append((b"date", self._date()))
        if status in (200, 401):
            headers.append((b"timestamp", str(int(self.clock.now())).encode()))
        if status in (429, 503) and not any(name == b"retry-after" for name, _ in headers):
            headers.append((b"retry-after", self.retry_after))
        if allowed_origin is not None:
            headers.append((b"access-control-allow-origin", allowed_origin))
            headers.append((b"vary", b"Origin"))
            headers.append((b"access-control-expose-headers", _CORS_EXPOSED))
        signature = scope.get(SERVER_AUTHORIZATION_KEY)
        if signature is not None:
            headers.append((b"server-authorization", signature.encode("latin-1")))
        return headers

    def _date(self) -> bytes:
        """RFC 7231 date, formatted at most once a second."""
        now = self.clock.now()
        second = int(now)
        if second != self._date_second:
            self._date_second = second
            self._date_value = formatdate(now, usegmt=True).encode()
        return self._date_value

    async def _settle(self, slot: CheckSlot, scope: Scope, send: Send, *, again: bool) -> bool:
        """Before any answer to a Hawk request goes out, its session check must have been
        performed (:mod:`loop.storage.checks`): alone, if no storage call carried it.
        ``True`` when it failed: the 401 was sent instead of the route's answer. A session
        found bound to another user is marked for serving ``again`` when allowed."""
        check, slot.check = slot.check, None
        assert check is not None
        try:
            await check.settle()
        except Exception as exc:
            scope.pop(SERVER_AUTHORIZATION_KEY, None)
            if isinstance(exc, SessionCheckFailed) and exc.stale and again:
                scope[STALE_SESSION_KEY] = True  # served again: nothing to send now
                return False
            if isinstance(exc, SessionCheckFailed):
                error = session_check_answer(exc)
            else:  # the store failed: 503, as for any other call
                error = last_resort(exc, int(self.retry_after))
            await self._send_error(scope, send, error)
            return True
        return False

    async def _send_failure(self, scope: Scope, send: Send, exc: Exception) -> int:
        return await self._send_error(scope, send, last_resort(exc, int(self.retry_after)))

    async def _send_error(self, scope: Scope, send: Send, error: LoopError) -> int:
        scope[ERRNO_KEY] = int(error.errno)
        body = dumps(error.body())
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        headers += [(k.lower().encode(), v.encode()) for k, v in error.headers.items()]
        await send({"type": "http.response.start", "status": error.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return error.status

    async def _socket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a websocket, then write its ``websocket.summary`` line (uvicorn's own
        handshake lines quote the query string, so they are dropped): 101 if accepted, else
        the refusal's status; ``t`` is the socket's life."""
        started = time.perf_counter()
        status = 0

        async def watch_handshake(message: Message) -> None:
            nonlocal status
            if not status:
                kind = message["type"]
                if kind == "websocket.accept":
                    status = 101
                    if self.prometheus is not None:
                        self.prometheus.websocket_opened(route_template(scope))
                elif kind == "websocket.close":
                    status = 403
                elif kind == "websocket.http.response.start":
                    status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watch_handshake)
        finally:
            self._log_summary(scope, status or 500, time.perf_counter() - started)
            if status == 101 and self.prometheus is not None:
                self.prometheus.websocket_closed(route_template(scope))

    def _log_summary(self, scope: Scope, status: int, elapsed: float) -> None:
        if not logger.isEnabledFor(logging.INFO):
            return
        websocket = scope["type"] == "websocket"
        log_fields(
            logger,
            "websocket.summary" if websocket else "request.summary",
            {
                "method": "GET" if websocket else scope["method"],
                "path": route_template(scope),
                "code": status,
                "errno": scope.get(ERRNO_KEY, 0),
                "t": int(elapsed * 1000),
                "agent": (_header(scope, b"user-agent") or b"").decode("latin-1"),
                "remote": scope[CLIENT_KEY],
                "rid": scope[REQUEST_ID_KEY],
            },
        )


class RecordedBody:
    """The request's body as the application reads it, kept so that it can be read again
    (:attr:`replay`) when the request is served a second time."""

    __slots__ = ("_receive", "_messages", "_replayed")

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._messages: list[Message] = []
        self._replayed = 0

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self._messages.append(message)
        return message

    async def replay(self) -> Message:
        if self._replayed < len(self._messages):
            self._replayed += 1
            return self._messages[self._replayed - 1]
        return await self.receive()


def route_template(scope: Scope) -> str:
    """The matched route's template, under its mount's prefix (``/v0/rooms/{token}``).

    Starlette's router (1.7 and later) leaves the route it picked in ``scope["route"]``
    (each mount's router overwrites it with its own pick, so it is the innermost one) and
    the mount prefixes it consumed in ``root_path``: two lookups, no matching per request.
    Mount prefixes are literals here (``/v0``, ``/msisdn``), so the prefix holds no client
    text."""
    route = scope.get("route")
    template = getattr(route, "path_format", None)
    if not isinstance(template, str):
        return UNMATCHED
    root_path: str = scope.get("root_path", "")
    prefix = root_path[len(scope.get("app_root_path", root_path)) :]
    return prefix + template


def _request_id(scope: Scope) -> str:
    """The client's sane ``X-Request-Id``, else 128 random bits in hex (a uuid4's shape).
    Not a secret, only unique: the process's PRNG, not a ``getrandom`` system call per
    request (which took 3 % of a request's time under load, profiled with py-spy)."""
    given = _header(scope, b"x-request-id")
    if given is not None and _SANE_REQUEST_ID.fullmatch(given):
        return given.decode("ascii")
    return f"{random.getrandbits(128):032x}"  # the module's generator: re-seeded on fork


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None
