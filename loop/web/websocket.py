"""A lean ASGI websocket protocol for uvicorn (its ``ws=``): what an idle socket keeps.

uvicorn's own ``websockets`` protocol keeps, for each socket and for its whole life, the
parsed handshake request and response with their header objects, an ``asyncio.Queue``
for the app's messages (three deques and an ``Event``), an ``Event`` for write pauses,
and the sans-I/O ``ServerProtocol``'s parser frame, which holds the request once more.
That made most of an idle socket's 33 KiB (``bench/websocket_idle.py``). This protocol
speaks the same ASGI websocket interface and the same wire protocol, but:

* the handshake is checked and answered by ``websockets``' ``ServerProtocol``, which is
  dropped once the app accepts or refuses: frames then go through the plain sans-I/O
  framing ``Protocol`` (no request, no response, no header objects kept);
* the app's messages wait in a list made on demand, and a receiving app waits on a
  future made on demand; a write pause waits on a future made on demand too;
* slots, not an instance dict;
* what most sockets hold alike is held once: the scope's header pairs that do not vary by
  client (``Upgrade: websocket``, a browser's ``User-Agent``...) and the server's address.

What stays as uvicorn does it: reading pauses while the app has a message unread (so a
client cannot queue without bound), ``ws_max_size`` caps a message, keep-alive pings
(``ws_ping_interval``, ``ws_ping_timeout``), a close handshake bounded by
:data:`CLOSE_TIMEOUT`, and on server shutdown a close with 1012 (service restart).
uvicorn's ``[accepted]`` log lines are not written: they quote the raw query string, and
the app's middleware writes each socket's summary line. permessage-deflate is always
declined (``ws_per_message_deflate`` is not read): accepted, it kept zlib state per socket
for messages of a few hundred bytes. A client must not send frames before our ``101``
(RFC 6455 §4.1); whole ones that it does are read, a partial one may be misread.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import struct
from http import HTTPStatus
from typing import Any, TypeVar, cast
from urllib.parse import unquote

from uvicorn.protocols.utils import ClientDisconnected, get_local_addr, get_remote_addr, is_ssl
from websockets.datastructures import Headers
from websockets.exceptions import InvalidState
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import OPEN, Protocol, Side
from websockets.server import ServerProtocol

CLOSE_TIMEOUT = 10.0
"""Seconds the peer has to answer our close frame before the connection is dropped."""

logger = logging.getLogger("uvicorn.error")

T = TypeVar("T")

SHAREABLE_HEADERS = frozenset(
    {
        b"host",
        b"origin",
        b"upgrade",
        b"connection",
        b"user-agent",
        b"accept-encoding",
        b"accept-language",
        b"cache-control",
        b"pragma",
        b"sec-websocket-version",
        b"sec-websocket-extensions",
    }
)
"""Headers whose (name, value) pair many sockets send alike; never a credential, cookie,
key or id, which are unique to a client and stay with its socket only."""


class SharedValues:
    """One copy of equal immutable values that many sockets hold, up to ``limit`` distinct
    ones (past it values are kept as given: a client sending odd headers cannot grow it)."""

    def __init__(self, limit: int) -> None:
        self._values: dict[Any, Any] = {}
        self._limit = limit

    def __len__(self) -> int:
        return len(self._values)

    def get(self, value: T) -> T:
        shared = self._values.get(value)
        if shared is not None:
            return cast(T, shared)
        if len(self._values) < self._limit:
            self._values[value] = value
        return value


shared = SharedValues(limit=4096)
"""Header pairs and server addresses of this process's sockets."""

_ASGI_INFO = {version: {"version": version, "spec_version": "2.4"} for version in ("2.0", "3.0")}
"""The scope's ``asgi`` entry, one shared dict per ASGI version instead of one per socket."""


class LeanWebSocketProtocol(asyncio.Protocol):
    """One websocket connection, from the upgrade request on (uvicorn's ``ws=`` class:
    built by its HTTP protocol, which hands over the transport and the request bytes)."""

    __slots__ = (
        "_app",
        "_app_state",
        "_asgi",
        "_closed_handshake",
        "_close_sent",
        "_close_timer",
        "_connections",
        "_conn",
        "_disconnected",
        "_drained",
        "_fragments",
        "_fragments_text",
        "_handshake",
        "_http_response",
        "_loop",
        "_max_size",
        "_pending",
        "_ping_interval",
        "_ping_payload",
        "_ping_sent_at",
        "_ping_rtt",
        "_ping_timeout",
        "_ping_timer",
        "_pong_timer",
        "_read_paused",
        "_root_path",
        "_default_headers",
        "_tasks",
        "_waiter",
        "scope",
        "transport",
    )

    def __init__(
        self,
        config: Any,
        server_state: Any,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        if not config.loaded:
            config.load()  # pragma: no cover
        self._app = config.loaded_app
        self._loop = _loop or asyncio.get_event_loop()
        self._root_path: str = config.root_path
        self._app_state = app_state
        self._asgi = _ASGI_INFO.get(config.asgi_version) or {
            "version": config.asgi_version,
            "spec_version": "2.4",
        }
        self._max_size: int | None = config.ws_max_size
        self._ping_interval: float | None = config.ws_ping_interval
        self._ping_timeout: float | None = config.ws_ping_timeout
        self._connections: set[Any] = server_state.connections
        self._tasks: set[asyncio.Task[None]] = server_state.tasks
        self._default_headers: list[tuple[bytes, bytes]] = server_state.default_headers
        self.transport: asyncio.Transport = cast(asyncio.Transport, None)
        self.scope: dict[str, Any] = {}
        self._conn: Protocol = ServerProtocol(max_size=self._max_size, logger=logger)
        self._handshake: Response | None = None
        """The 101 answer prepared, until the app accepts or refuses."""
        self._closed_handshake = False
        """The app accepted, refused or answered: the handshake is over."""
        self._http_response: tuple[int, list[tuple[str, str]], bytes] | None = None
        self._close_sent = False
        self._disconnected = False
        self._close_timer: asyncio.TimerHandle | None = None
        self._ping_timer: asyncio.TimerHandle | None = None
        self._pong_timer: asyncio.TimerHandle | None = None
        self._ping_payload: bytes | None = None
        self._ping_sent_at = 0.0
        self._ping_rtt = 0.0
        self._pending: list[dict[str, Any]] | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._drained: asyncio.Future[None] | None = None
        self._read_paused = False
        self._fragments: list[bytes | bytearray | memoryview] | None = None
        self._fragments_text = False

    # -- transport events ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._connections.add(self)
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_keepalive()
        accepted = self._closed_handshake and self._http_response is None
        self._deliver({"type": "websocket.disconnect", "code": 1005 if accepted else 1006})
        self._connections.discard(self)
        self._closed_handshake = True
        self._disconnected = True
        self._wake_writers()
        if self._close_timer is not None:
            self._close_timer.cancel()
            self._close_timer = None
        if exc is None:
            self.transport.close()

    def eof_received(self) -> None:
        pass

    def pause_writing(self) -> None:
        if self._drained is None:
            self._drained = self._loop.create_future()

    def resume_writing(self) -> None:
        self._wake_writers()

    def _wake_writers(self) -> None:
        drained, self._drained = self._drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    def shutdown(self) -> None:
        """Server shutdown: an open socket is closed with 1012 (service restart)."""
        self._stop_keepalive()
        if self._close_sent:
            if self._close_timer is not None:
                self._close_timer.cancel()
                self._close_timer = None
            self.transport.close()
            return
        if self._closed_handshake and self._http_response is None:
            self._deliver({"type": "websocket.disconnect", "code": 1012})
            self._conn.send_close(1012)
            self._flush()
        else:
            self._answer_500()
        self.transport.close()

    def data_received(self, data: bytes) -> None:
        conn = self._conn
        conn.receive_data(data)
        if conn.parser_exc is not None:
            self._parser_failed()
            return
        if conn.handshake_exc is not None and not self.scope and not self._closed_handshake:
            self._handshake_unreadable()
            return
        for event in conn.events_received():
            if isinstance(event, Request):
                self._connect(event)
            elif isinstance(event, Frame):
                self._frame(event)

    # -- the handshake ---------------------------------------------------------------------

    def _connect(self, request: Request) -> None:
        conn = cast(ServerProtocol, self._conn)
        response = conn.accept(request)
        if response.status_code != 101:
            self._closed_handshake = self._close_sent = True
            conn.send_response(response)
            self._flush()
            self.transport.close()
            return
        del response.headers["Date"]
        self._handshake = response
        raw_path, _, query = request.path.partition("?")
        subprotocols: list[str] = []
        for header in request.headers.get_all("Sec-WebSocket-Protocol"):
            subprotocols.extend(token.strip() for token in header.split(","))
        self.scope = {
            "type": "websocket",
            "asgi": self._asgi,
            "http_version": "1.1",
            "scheme": "wss" if is_ssl(self.transport) else "ws",
            "server": shared.get(get_local_addr(self.transport)),
            "client": get_remote_addr(self.transport),
            "root_path": self._root_path,
            "path": self._root_path + unquote(raw_path),
            "raw_path": self._root_path.encode("ascii") + raw_path.encode("ascii"),
            "query_string": query.encode("ascii"),
            "headers": _scope_headers(request.headers),
            "subprotocols": subprotocols,
            "state": self._app_state.copy(),
            "extensions": {"websocket.http.response": {}},
        }
        self._deliver({"type": "websocket.connect"})
        task = self._loop.create_task(self._run_asgi())
        task.add_done_callback(self._tasks.discard)
        self._tasks.add(task)

    def _handshake_unreadable(self) -> None:
        """``websockets`` could not parse the request: its own answer (414, 431), else 400."""
        self._closed_handshake = self._close_sent = True
        output = b"".join(self._conn.data_to_send())
        if not output:
            reason = "Failed to open a WebSocket connection: invalid request.\n"
            output = cast(ServerProtocol, self._conn).reject(400, reason).serialize()
        self.transport.write(output)
        self.transport.close()

    def _accepted(self, message: dict[str, Any]) -> None:
        response = self._handshake
        assert response is not None
        extra = self._default_headers + list(message.get("headers", []))
        response.headers.update(
            (name.decode("latin-1").lower(), value.decode("latin-1")) for name, value in extra
        )
        if message.get("subprotocol"):
            response.headers["Sec-WebSocket-Protocol"] = message["subprotocol"]
        if self.transport.is_closing():
            return
        self._closed_handshake = True
        cast(ServerProtocol, self._conn).send_response(response)
        self._flush()
        self._framing_only()
        self._start_keepalive()

    def _framing_only(self) -> None:
        """Swap the handshake protocol for the bare framing one, carrying over any partial
        frame already read: nothing of the handshake stays with the socket."""
        handshake = self._conn
        self._handshake = None
        self._conn = Protocol(Side.SERVER, state=OPEN, max_size=self._max_size, logger=logger)
        leftover = bytes(handshake.reader.buffer)
        if leftover:
            self.data_received(leftover)

    def _refused(self) -> None:
        self._deliver({"type": "websocket.disconnect", "code": 1006})
        self._handshake = None
        conn = cast(ServerProtocol, self._conn)
        conn.send_response(conn.reject(HTTPStatus.FORBIDDEN, ""))
        self._closed_handshake = self._close_sent = True
        self._flush()
        self.transport.close()

    def _answer_500(self) -> None:
        if self._http_response is not None or self._closed_handshake:
            return
        conn = cast(ServerProtocol, self._conn)
        conn.send_response(conn.reject(500, "Internal Server Error"))
        self._flush()

    # -- frames in -------------------------------------------------------------------------

    def _frame(self, frame: Frame) -> None:
        opcode = frame.opcode
        if opcode is Opcode.TEXT or opcode is Opcode.BINARY:
            self._fragments = [frame.data]
            self._fragments_text = opcode is Opcode.TEXT
            if frame.fin:
                self._message_complete()
        elif opcode is Opcode.CONT:
            if self._fragments is not None:
                self._fragments.append(frame.data)
            if frame.fin:
                self._message_complete()
        elif opcode is Opcode.PING:
            self._flush()  # the sans-I/O protocol queued the pong
        elif opcode is Opcode.PONG:
            self._pong(frame)
        elif opcode is Opcode.CLOSE:
            self._peer_closed()

    def _message_complete(self) -> None:
        fragments, self._fragments = self._fragments or [], None
        data = b"".join(fragments)
        if self._close_sent:  # past the app's close: reads go on until the peer's reply
            return
        if self._fragments_text:
            try:
                self._deliver({"type": "websocket.receive", "text": data.decode()})
            except UnicodeDecodeError:  # the framing protocol leaves text undecoded
                self._conn.send_close(1007)
                self._parser_failed()
                return
        else:
            self._deliver({"type": "websocket.receive", "bytes": data})
        if not self._read_paused:
            self._read_paused = True
            self.transport.pause_reading()

    def _peer_closed(self) -> None:
        if self._close_sent:  # the peer answered our close: the closing handshake is done
            if self._close_timer is not None:
                self._close_timer.cancel()
                self._close_timer = None
                self.transport.close()
            return
        if not self.transport.is_closing():
            received = self._conn.close_rcvd
            assert received is not None
            self._deliver(
                {"type": "websocket.disconnect", "code": received.code, "reason": received.reason}
            )
            self._flush()
            self.transport.close()

    def _parser_failed(self) -> None:
        sent = self._conn.close_sent
        assert sent is not None
        self._deliver({"type": "websocket.disconnect", "code": sent.code, "reason": sent.reason})
        self._flush()
        self._close_sent = True
        self.transport.close()

    # -- keep-alive ------------------------------------------------------------------------

    def _start_keepalive(self) -> None:
        if self._ping_interval:
            self._schedule_ping()

    def _stop_keepalive(self) -> None:
        self._ping_timer = _cancelled(self._ping_timer)
        self._pong_timer = _cancelled(self._pong_timer)
        self._ping_payload = None

    def _schedule_ping(self) -> None:
        assert self._ping_interval is not None
        delay = max(0.0, self._ping_interval - self._ping_rtt)
        self._ping_timer = self._loop.call_later(delay, self._ping)

    def _ping(self) -> None:
        self._ping_timer = None
        if self._close_sent or self.transport.is_closing():
            return
        self._ping_payload = struct.pack("!I", random.getrandbits(32))
        self._ping_sent_at = self._loop.time()
        self._conn.send_ping(self._ping_payload)
        self._flush()
        if self._ping_timeout is not None:
            self._pong_timer = self._loop.call_later(self._ping_timeout, self._pong_missing)
        else:
            self._schedule_ping()

    def _pong(self, frame: Frame) -> None:
        """Only the answer to our ping in flight counts; it arms the next ping."""
        if self._ping_payload is None or bytes(frame.data) != self._ping_payload:
            return
        self._ping_rtt = self._loop.time() - self._ping_sent_at
        self._ping_payload = None
        if self._pong_timer is not None:
            self._pong_timer = _cancelled(self._pong_timer)
            self._schedule_ping()

    def _pong_missing(self) -> None:
        self._pong_timer = None
        self._ping_payload = None
        if self._close_sent or self.transport.is_closing():
            return
        self._conn.fail(1011, "keepalive ping timeout")
        self._flush()
        self._close_sent = True
        self.transport.close()

    # -- the app ---------------------------------------------------------------------------

    async def _run_asgi(self) -> None:
        try:
            result = await self._app(self.scope, self.receive, self.send)
        except ClientDisconnected:
            pass
        except BaseException:
            logger.exception("Exception in ASGI application\n")
            self._answer_500()
        else:
            if not self._closed_handshake:
                logger.error("ASGI callable returned without completing handshake.")
                self._answer_500()
            elif result is not None:
                logger.error("ASGI callable should return None, but returned '%s'.", result)
        if self._close_timer is None:
            self.transport.close()

    def _deliver(self, message: dict[str, Any]) -> None:
        """Queue ``message`` for the app and wake its ``receive``; like an
        ``asyncio.Queue``, the message stays queued if that ``receive`` is cancelled."""
        if self._pending is None:
            self._pending = [message]
        else:
            self._pending.append(message)
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def receive(self) -> dict[str, Any]:
        while not self._pending:
            if self._waiter is None or self._waiter.done():
                self._waiter = self._loop.create_future()
            await self._waiter
        message = self._pending.pop(0)
        if not self._pending:
            self._pending = None
            if self._read_paused:
                self._read_paused = False
                self.transport.resume_reading()
        return message

    async def send(self, message: dict[str, Any]) -> None:
        while self._drained is not None:
            await asyncio.shield(self._drained)
        if self._disconnected:
            raise ClientDisconnected()
        kind = message["type"]
        if not self._closed_handshake and self._http_response is None:
            self._send_handshake(kind, message)
        elif not self._close_sent and self._http_response is None:
            try:
                self._send_open(kind, message)
            except InvalidState:
                raise ClientDisconnected() from None
        elif self._http_response is not None:
            self._send_http_body(kind, message)
        else:
            raise RuntimeError(
                f"Unexpected ASGI message '{kind}', after sending 'websocket.close'."
            )

    def _send_handshake(self, kind: str, message: dict[str, Any]) -> None:
        if kind == "websocket.accept":
            self._accepted(message)
        elif kind == "websocket.close":
            self._refused()
        elif kind == "websocket.http.response.start":
            status = message["status"]
            if not 100 <= status < 600:
                raise RuntimeError(f"Invalid HTTP status code '{status}' in response.")
            headers = [
                (name.decode("latin-1"), value.decode("latin-1"))
                for name, value in message.get("headers", [])
            ]
            self._http_response = (status, headers, b"")
            self._closed_handshake = True
        else:
            raise RuntimeError(
                "Expected ASGI message 'websocket.accept', 'websocket.close' "
                f"or 'websocket.http.response.start' but got '{kind}'."
            )

    def _send_open(self, kind: str, message: dict[str, Any]) -> None:
        if kind == "websocket.send":
            data, text = message.get("bytes"), message.get("text")
            if data is not None:
                self._conn.send_binary(data)
            elif text is not None:
                self._conn.send_text(text.encode())
            self._flush()
        elif kind == "websocket.close":
            if self.transport.is_closing():
                return
            code, reason = message.get("code", 1000), message.get("reason") or ""
            self._deliver({"type": "websocket.disconnect", "code": code, "reason": reason})
            self._conn.send_close(code, reason)
            self._flush()
            self._close_sent = True
            if self._read_paused:
                self._read_paused = False
                self.transport.resume_reading()
            self._close_timer = self._loop.call_later(CLOSE_TIMEOUT, self.transport.close)
        else:
            raise RuntimeError(
                f"Expected ASGI message 'websocket.send' or 'websocket.close', but got '{kind}'."
            )

    def _send_http_body(self, kind: str, message: dict[str, Any]) -> None:
        """The app's own HTTP answer to the upgrade (ASGI ``websocket.http.response``)."""
        if kind != "websocket.http.response.body":
            raise RuntimeError(
                f"Expected ASGI message 'websocket.http.response.body' but got '{kind}'."
            )
        assert self._http_response is not None
        status, header_list, body = self._http_response
        body += message["body"]
        self._http_response = (status, header_list, body)
        if message.get("more_body", False):
            return
        headers = Headers(header_list)
        headers.setdefault("Date", email.utils.formatdate(usegmt=True))
        headers.setdefault("Connection", "close")
        headers.setdefault("Content-Length", str(len(body)))
        headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        self._deliver({"type": "websocket.disconnect", "code": 1006})
        self._handshake = None
        conn = cast(ServerProtocol, self._conn)
        conn.send_response(Response(status, _phrase(status), headers, body))
        self._close_sent = True
        self._flush()
        self.transport.close()

    def _flush(self) -> None:
        output = self._conn.data_to_send()
        if output:
            self.transport.write(b"".join(output))


def _scope_headers(headers: Headers) -> list[tuple[bytes, bytes]]:
    """The ASGI header list: lower-case names, latin-1 values (as uvicorn gives them), the
    pairs every socket sends alike shared between sockets."""
    pairs = []
    for name, value in headers.raw_items():
        pair = (name.lower().encode("ascii"), value.encode("latin-1"))
        pairs.append(shared.get(pair) if pair[0] in SHAREABLE_HEADERS else pair)
    return pairs


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _cancelled(timer: asyncio.TimerHandle | None) -> asyncio.TimerHandle | None:
    """Cancel ``timer`` if set; None, to store in its place."""
    if timer is not None:
        timer.cancel()
    return None
