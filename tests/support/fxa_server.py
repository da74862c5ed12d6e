"""A local stand-in for Firefox Accounts: a real HTTP server on a free loopback port.

It plays every FxA service the Loop server talks to (msisdn-and-auth.md §4.3):

* the OAuth server, ``oauth_uri`` = ``server.url("/v1")``: ``POST /v1/token`` trades a
  code registered with :meth:`FxaServer.add_code` (and our client id and secret) for a
  bearer token; ``POST /v1/verify`` describes a token;
* the profile server, ``profile_uri`` = ``server.url("/v1")``: ``GET /v1/profile`` with
  ``Authorization: Bearer <token>`` answers ``{email, uid}``;
* the remote BrowserID verifier, ``fxa_verifier`` = ``server.url("/v2")``: ``POST /v2``
  with ``{audience, assertion}`` verifies with the real local verifier against the
  issuers given to :meth:`FxaServer.trust`, and speaks the v2 JSON;
* ``GET /status`` (the heartbeat) and ``GET /.well-known/browserid`` (an issuer's
  support document, see :meth:`FxaServer.serve_well_known`).

Any path can be made to answer something else with :meth:`FxaServer.override` (status and
raw body), which is how tests produce non-JSON, errors and missing fields. Every request
is recorded in ``requests``. It runs in a background thread, like the other stand-ins.
"""

from __future__ import annotations

import dataclasses
import http.server
import json
import secrets
import threading
import time
from types import TracebackType
from typing import Any

from loop import browserid
from loop.browserid import PublicKey

CLIENT_ID = "263ceaa5546dce83"
CLIENT_SECRET = "852ab2c4bc5fb9d6e4e6ed3fe9d9a2e2a1c4a1e58ff9b7af01f8da5bbbf3c2b6"


@dataclasses.dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    """Lower-cased names."""
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class FxaServer:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.well_known: dict[str, Any] | None = None
        self._codes: dict[str, str] = {}
        self._tokens: dict[str, str] = {}
        self._trusted: dict[str, list[PublicKey]] = {}
        self._overrides: dict[str, tuple[int, bytes]] = {}
        self._lock = threading.Lock()
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.fxa = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    # -- life cycle -------------------------------------------------------------------

    def start(self) -> FxaServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FxaServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def url(self, path: str = "") -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}{path}"

    # -- scenario ---------------------------------------------------------------------

    def add_code(self, email: str) -> str:
        """A fresh authorization code that trades for a token of ``email``'s account."""
        code = secrets.token_hex(16)
        with self._lock:
            self._codes[code] = email
        return code

    def trust(self, issuer: str, key: PublicKey) -> None:
        """The remote verifier accepts certificates of ``issuer`` signed by ``key``."""
        self._trusted[issuer] = [key]

    def serve_well_known(self, document: dict[str, Any] | None) -> None:
        self.well_known = document

    def override(self, path: str, status: int, body: bytes | str | dict[str, Any]) -> None:
        """Answer ``path`` with ``status`` and ``body`` (a dict is sent as JSON)."""
        raw = json.dumps(body).encode() if isinstance(body, dict) else body
        self._overrides[path] = (status, raw.encode() if isinstance(raw, str) else raw)

    def reset(self) -> None:
        self._overrides.clear()

    def calls_to(self, path: str) -> list[Recorded]:
        return [request for request in self.requests if request.path == path]

    # -- behaviour --------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Any:
        with self._lock:
            self.requests.append(Recorded(method, path, headers, body))
        if path in self._overrides:
            return self._overrides[path]
        route = {
            ("POST", "/v1/token"): self._token,
            ("POST", "/v1/verify"): self._verify_token,
            ("GET", "/v1/profile"): self._profile,
            ("POST", "/v2"): self._verify_assertion,
            ("GET", "/status"): lambda h, b: (200, {}),
            ("GET", "/.well-known/browserid"): self._support_document,
        }.get((method, path))
        if route is None:
            return 404, {"code": 404}
        return route(headers, body)

    def _token(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        request = json.loads(body)
        good_client = (request.get("client_id"), request.get("client_secret")) == (
            CLIENT_ID,
            CLIENT_SECRET,
        )
        code = request.get("code")
        with self._lock:
            email = self._codes.pop(code, None) if isinstance(code, str) else None
            if email is None or not good_client:
                return 400, {"code": 400, "errno": 105, "message": "Unknown code"}
            token = secrets.token_hex(32)
            self._tokens[token] = email
        return 200, {"access_token": token, "token_type": "bearer", "scope": "profile"}

    def _verify_token(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        email = self._tokens.get(json.loads(body).get("token"))
        if email is None:
            return 400, {"code": 400, "errno": 108, "message": "Invalid token"}
        return 200, {"user": _uid(email), "client_id": CLIENT_ID, "scope": ["profile"]}

    def _profile(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        token = headers.get("authorization", "").removeprefix("Bearer ")
        email = self._tokens.get(token)
        if email is None:
            return 401, {"code": 401, "errno": 100, "message": "Unauthorized"}
        return 200, {"email": email, "uid": _uid(email)}

    def _verify_assertion(self, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        request = json.loads(body)
        try:
            verified = browserid.verify(
                request["assertion"],
                audience=request["audience"],
                trusted_keys=self._trusted,
                now=time.time(),
            )
        except browserid.VerificationError as exc:
            return 200, {"status": "failure", "reason": exc.reason}
        return 200, {
            "status": "okay",
            "email": verified.email,
            "audience": verified.audience,
            "expires": verified.expires,
            "issuer": verified.issuer,
            "idpClaims": verified.idp_claims,
            "userClaims": verified.user_claims,
        }

    def _support_document(self, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        if self.well_known is None:
            return 404, {"code": 404}
        return 200, self.well_known


def _uid(email: str) -> str:
    return email.encode().hex()[:32]


class _Handler(http.server.BaseHTTPRequestHandler):
    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        fxa: FxaServer = self.server.fxa  # type: ignore[attr-defined]
        status, answer = fxa.handle(self.command, self.path, headers, body)
        raw = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    do_GET = _serve  # noqa: N815 - the stdlib's naming
    do_POST = _serve  # noqa: N815

    def log_message(self, format: str, *args: object) -> None:
        pass
