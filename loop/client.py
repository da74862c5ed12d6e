"""A small Loop API client: Hawk signing as Firefox does it, for scripts and the README.

Firefox derives its Hawk credentials from the ``Hawk-Session-Token`` the server hands out
(HKDF, ``loop.crypto.hawk_credentials``) and signs every request, hashing the payload when
there is one. Hawk clients that always hash the payload (``requests-hawk``'s default) fail
on a bodiless ``GET``; this one hashes only what it sends::

    from loop.client import LoopClient

    with LoopClient("http://localhost:5000/v0") as client:
        client.register()
        room = client.post("/rooms", json={"roomOwner": "Alice", ...}).json()

It depends only on what the server itself installs (``httpx``, ``mohawk``).
"""

from __future__ import annotations

import json as jsonlib
import time
from types import TracebackType
from typing import Any

import httpx
import mohawk
from mohawk.base import EmptyValue

from loop.crypto import hawk_credentials

SESSION_HEADER = "Hawk-Session-Token"


def hawk_authorization(
    hawk_id: str,
    key: str,
    url: str,
    method: str,
    *,
    content: bytes | None = None,
    content_type: str | None = None,
    timestamp: float | None = None,
    nonce: str | None = None,
) -> str:
    """The ``Authorization`` header for one request: the payload is hashed only when there
    is one, as Firefox does. ``hawk_id`` and ``key`` come from the session token
    (``loop.crypto.hawk_credentials``)."""
    hashed = content is not None
    sender = mohawk.Sender(
        {"id": hawk_id, "key": key, "algorithm": "sha256"},
        url,
        method,
        content=content if hashed else EmptyValue,
        content_type=(content_type or "") if hashed else EmptyValue,
        always_hash_content=hashed,
        nonce=nonce,
        _timestamp=int(time.time() if timestamp is None else timestamp),
    )
    return str(sender.request_header)


class LoopClient:
    """Requests to one Loop server (``base``: its URL, with ``/v0`` as Firefox uses it),
    signed with the session :meth:`register` made or ``session_token`` gave."""

    def __init__(
        self, base: str, session_token: str | None = None, *, timeout: float = 10.0
    ) -> None:
        self.base = base.rstrip("/")
        self.session_token = session_token
        self.http = httpx.Client(timeout=timeout)

    def register(self, body: dict[str, Any] | None = None) -> str:
        """``POST /registration`` without credentials: a new session, kept for what follows."""
        response = self.request("POST", "/registration", json=body or {}, signed=False)
        response.raise_for_status()
        self.session_token = response.headers[SESSION_HEADER]
        return self.session_token

    def request(
        self, method: str, path: str, *, json: Any = None, signed: bool = True
    ) -> httpx.Response:
        """``method path``, signed when ``signed`` and a session exists; ``json`` is the
        body. Answers are returned whatever their status: Loop's errors are JSON bodies."""
        url = self.base + path
        headers = {"Accept": "application/json"}
        content = None
        if json is not None:
            content = jsonlib.dumps(json).encode()
            headers["Content-Type"] = "application/json"
        if signed and self.session_token:
            headers["Authorization"] = hawk_authorization(
                *hawk_credentials(self.session_token),
                url,
                method,
                content=content,
                content_type=headers.get("Content-Type"),
            )
        return self.http.request(method, url, content=content, headers=headers)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> LoopClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
