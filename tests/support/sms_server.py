"""A local stand-in SMS provider speaking the Nexmo / Vonage SMS API, on a free port.

A real HTTP server in a background thread: ``GET /sms/json?api_key&api_secret&from&to&text``
is recorded and answered like Nexmo (``messages[0].status`` ``"0"`` when accepted). Tests
read verification codes from the captured messages, as a phone would.

API::

    with SmsServer() as sms:
        sms.endpoint                 # "http://127.0.0.1:<port>/sms/json"
        sms.refuse("4", "Bad Credentials")   # answer a refusal from now on
        sms.fail_http(500)           # answer a non-JSON HTTP error from now on
        sms.accept()                 # back to accepting
        sms.messages                 # [SmsMessage(sender, to, text, api_key, api_secret)]
        sms.last_to("33623456789")   # the last message to that number (no "+")
"""

from __future__ import annotations

import dataclasses
import http.server
import json
import threading
from types import TracebackType
from urllib.parse import parse_qs, urlsplit


@dataclasses.dataclass(frozen=True)
class SmsMessage:
    sender: str
    to: str
    text: str
    api_key: str
    api_secret: str


class SmsServer:
    def __init__(self) -> None:
        self.messages: list[SmsMessage] = []
        self.requests = 0
        self._lock = threading.Lock()
        self._answer: tuple[int, bytes] = (200, b"")
        self.accept()
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.sms_server = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> SmsServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/sms/json"

    def accept(self) -> None:
        self._set(200, {"message-count": "1", "messages": [{"status": "0", "to": ""}]})

    def refuse(self, status: str, error_text: str) -> None:
        self._set(
            200, {"message-count": "1", "messages": [{"status": status, "error-text": error_text}]}
        )

    def fail_http(self, status: int) -> None:
        with self._lock:
            self._answer = (status, b"<html>down</html>")

    def last_to(self, number: str) -> SmsMessage:
        with self._lock:
            for message in reversed(self.messages):
                if message.to == number.lstrip("+"):
                    return message
        raise AssertionError(f"no SMS to {number}")

    def _set(self, status: int, body: dict[str, object]) -> None:
        with self._lock:
            self._answer = (status, json.dumps(body).encode())

    def _record(self, query: dict[str, str]) -> tuple[int, bytes]:
        with self._lock:
            self.requests += 1
            status, body = self._answer
            if status == 200 and b'"status": "0"' in body:
                self.messages.append(
                    SmsMessage(
                        sender=query.get("from", ""),
                        to=query.get("to", ""),
                        text=query.get("text", ""),
                        api_key=query.get("api_key", ""),
                        api_secret=query.get("api_secret", ""),
                    )
                )
            return status, body


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the stdlib's naming
        parts = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        server: SmsServer = self.server.sms_server  # type: ignore[attr-defined]
        status, body = server._record(query) if parts.path == "/sms/json" else (404, b"")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass
