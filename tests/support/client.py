"""A Loop client for tests: signs requests with Hawk the way Firefox does.

It talks to the in-process app through httpx's ASGI transport (or to a real server when
given a base URL), derives Hawk credentials from the ``Hawk-Session-Token`` exactly as the
add-on does and signs with the package's own client code (``loop.client``) using the app's
clock, so tests can move time without breaking the timestamp check.
"""

from __future__ import annotations

import dataclasses
import json as jsonlib
from typing import Any

import httpx

from loop.client import hawk_authorization
from loop.clock import Clock
from loop.crypto import hawk_credentials


@dataclasses.dataclass(frozen=True)
class HawkSession:
    token: str
    id: str
    key: str

    @classmethod
    def from_token(cls, token: str) -> HawkSession:
        hawk_id, key = hawk_credentials(token)
        return cls(token, hawk_id, key)

    @property
    def credentials(self) -> dict[str, str]:
        return {"id": self.id, "key": self.key, "algorithm": "sha256"}


class LoopClient:
    def __init__(self, http: httpx.AsyncClient, clock: Clock, prefix: str = "") -> None:
        self.http = http
        self.clock = clock
        self.prefix = prefix
        """``""`` or ``"/v0"``: every path is requested under it."""

    async def register(self, body: dict[str, Any] | None = None) -> HawkSession:
        """``POST /registration`` without credentials: a new guest session."""
        response = await self.post("/registration", json=body or {})
        assert response.status_code == 200, response.text
        return HawkSession.from_token(response.headers["Hawk-Session-Token"])

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        hawk: HawkSession | None = None,
        headers: dict[str, str] | None = None,
        hash_payload: bool = True,
        nonce: str | None = None,
    ) -> httpx.Response:
        headers = dict(headers or {})
        if json is not None:
            content = jsonlib.dumps(json).encode()
            headers.setdefault("Content-Type", "application/json")
        url = str(self.http.base_url).rstrip("/") + self.prefix + path
        if hawk is not None:
            headers["Authorization"] = self.hawk_header(
                hawk, url, method, content, headers.get("Content-Type"), hash_payload, nonce
            )
        return await self.http.request(method, url, content=content, headers=headers)

    def hawk_header(
        self,
        hawk: HawkSession,
        url: str,
        method: str,
        content: bytes | None = None,
        content_type: str | None = None,
        hash_payload: bool = True,
        nonce: str | None = None,
    ) -> str:
        hashed = hash_payload and content is not None
        return hawk_authorization(
            hawk.id,
            hawk.key,
            url,
            method,
            content=content if hashed else None,
            content_type=content_type,
            timestamp=self.clock.now(),
            nonce=nonce,
        )

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PATCH", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PUT", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("DELETE", path, **kwargs)


def assert_error(
    response: httpx.Response, code: int, errno: int, error: str | None = None
) -> dict[str, Any]:
    """The spec's error body, exactly: ``{"code", "errno", "error"}`` (+ optional fields)."""
    assert response.status_code == code, (response.status_code, response.text)
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert body["errno"] == errno, body
    assert isinstance(body["error"], str) and body["error"], body
    if error is not None:
        assert body["error"] == error, body
    return body
