"""A local stand-in for OpenTok's session-creation endpoint, for the ``tokbox`` provider.

It speaks what the installed ``opentok`` SDK (3.x) sends and expects:

* ``POST /session/create`` (under the configured API URL), form-encoded body with
  ``p2p.preference`` (``enabled`` = relayed, ``disabled`` = routed), ``archiveMode``,
  ``e2ee`` and optionally ``location``;
* authentication by ``X-OPENTOK-AUTH: <JWT>``, HS256-signed with the project's API secret,
  claims ``iss`` = API key, ``ist`` = ``"project"``, ``iat``, ``exp``, ``jti``; the legacy
  ``X-TB-PARTNER-AUTH: <api_key>:<api_secret>`` (the original Node SDK's header) is
  accepted too;
* success: ``200``, ``Content-Type: application/json``, body
  ``[{"session_id": ..., "project_id": ..., "partner_id": ..., "create_dt": ...,
  "media_server_url": ""}]``; the session id is ``"1_" + base64url("1~<api_key>~~<ms>~
  <random>~~")`` without padding, which the SDK decodes when minting tokens;
* bad or missing credentials: ``403`` with ``{"code": 403, "message": ...}``.

Every request is recorded (after authentication) so tests can check which credentials
and options were used, and the server can be told to fail: ``500``, ``403`` or ``hang``
(answer nothing until released or closed), for the next N requests or until reset.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import http.server
import json
import secrets
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any, Literal
from urllib.parse import parse_qs

import jwt

FailMode = Literal["500", "403", "hang"]
SESSION_PATH = "/session/create"


@dataclasses.dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]
    api_key: str | None
    """The authenticated API key, or None when authentication failed."""
    auth_scheme: str | None
    """``"jwt"`` or ``"partner"`` (legacy header) when authenticated."""
    jwt_claims: dict[str, Any] | None


class OpenTokStandIn:
    def __init__(self, projects: Mapping[str, str], hang_seconds: float = 30.0) -> None:
        """``projects`` maps API keys to API secrets."""
        self.projects = dict(projects)
        self.hang_seconds = hang_seconds
        self.requests: list[RecordedRequest] = []
        self.sessions: list[str] = []
        self._lock = threading.Lock()
        self._fail_mode: FailMode | None = None
        self._fail_remaining: int | None = None
        self._release = threading.Event()
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.standin = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            # A short poll keeps shutdown (once per test) from costing half a second.
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            daemon=True,
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def fail(self, mode: FailMode, times: int | None = None) -> None:
        """Fail the next ``times`` requests (every request when None) in this way."""
        with self._lock:
            self._fail_mode, self._fail_remaining = mode, times
            self._release.clear()

    def reset(self) -> None:
        """Answer normally again and let hanging requests go (they then get a 500)."""
        with self._lock:
            self._fail_mode, self._fail_remaining = None, None
        self._release.set()

    def _next_failure(self) -> FailMode | None:
        with self._lock:
            mode = self._fail_mode
            if mode is not None and self._fail_remaining is not None:
                self._fail_remaining -= 1
                if self._fail_remaining <= 0:
                    self._fail_mode, self._fail_remaining = None, None
            return mode

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def authenticate(
        self, headers: Mapping[str, str]
    ) -> tuple[str, str, dict[str, Any] | None] | None:
        """``(api_key, scheme, claims)`` for valid credentials, else None."""
        token = headers.get("x-opentok-auth")
        if token:
            return self._check_jwt(token)
        partner = headers.get("x-tb-partner-auth")
        if partner:
            api_key, _, secret = partner.partition(":")
            if self.projects.get(api_key) == secret:
                return api_key, "partner", None
        return None

    def _check_jwt(self, token: str) -> tuple[str, str, dict[str, Any] | None] | None:
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
            api_key = str(unverified.get("iss", ""))
            secret = self.projects.get(api_key)
            if secret is None:
                return None
            claims: dict[str, Any] = jwt.decode(
                token, secret, algorithms=["HS256"], options={"require": ["iat", "exp"]}
            )
        except jwt.PyJWTError:
            return None
        if claims.get("ist") != "project":
            return None
        return api_key, "jwt", claims

    def new_session_id(self, api_key: str) -> str:
        fields = f"1~{api_key}~~{int(time.time() * 1000)}~{secrets.token_urlsafe(18)}~~"
        encoded = base64.urlsafe_b64encode(fields.encode()).decode().rstrip("=")
        session_id = f"1_{encoded}"
        with self._lock:
            self.sessions.append(session_id)
        return session_id


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    @property
    def standin(self) -> OpenTokStandIn:
        return self.server.standin  # type: ignore[attr-defined,no-any-return]

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: pytest output is not the place for access logs."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode()
        form = {key: values[-1] for key, values in parse_qs(body).items()}
        headers = {key.lower(): value for key, value in self.headers.items()}
        auth = self.standin.authenticate(headers)
        self.standin._record(
            RecordedRequest(
                method="POST",
                path=self.path,
                headers=headers,
                form=form,
                api_key=auth[0] if auth else None,
                auth_scheme=auth[1] if auth else None,
                jwt_claims=auth[2] if auth else None,
            )
        )
        if self.path != SESSION_PATH:
            return self._json(404, {"code": 404, "message": "Not found"})
        failure = self.standin._next_failure()
        if failure == "hang":
            self.standin._release.wait(self.standin.hang_seconds)
            return self._json(500, {"code": 500, "message": "released after hanging"})
        if failure == "500":
            return self._json(500, {"code": 500, "message": "Internal server error"})
        if failure == "403" or auth is None:
            return self._json(403, {"code": 403, "message": "Authentication failed"})
        api_key = auth[0]
        session = {
            "session_id": self.standin.new_session_id(api_key),
            "project_id": api_key,
            "partner_id": api_key,
            "create_dt": time.strftime("%a %b %d %H:%M:%S GMT %Y", time.gmtime()),
            "media_server_url": "",
        }
        self._json(200, [session])

    def _json(self, status: int, payload: object) -> None:
        data = json.dumps(payload).encode()
        with contextlib.suppress(OSError):  # the client may have given up (timeouts)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)


@contextlib.contextmanager
def opentok_server(projects: Mapping[str, str]) -> Iterator[OpenTokStandIn]:
    """A started stand-in for ``projects`` (API key -> secret), closed afterwards."""
    standin = OpenTokStandIn(projects)
    standin.start()
    try:
        yield standin
    finally:
        standin.close()
