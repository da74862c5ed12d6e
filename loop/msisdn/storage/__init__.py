"""The gateway's storage: the interface (:mod:`.base`) and its SQLite and Redis backends,
picked by URL (:func:`from_url`)."""

from __future__ import annotations

from loop.msisdn.storage import redis, sqlite
from loop.msisdn.storage.base import (
    BindOutcome,
    CertificateRecord,
    CodeCheck,
    CodeOutcome,
    Credentials,
    GatewayStorage,
    window,
)
from loop.storage import DEFAULT_TIMEOUT, BackendError

__all__ = [
    "BackendError",
    "BindOutcome",
    "CertificateRecord",
    "CodeOutcome",
    "CodeCheck",
    "Credentials",
    "GatewayStorage",
    "from_url",
    "window",
]


async def from_url(url: str, *, timeout: float = DEFAULT_TIMEOUT) -> GatewayStorage:
    """``sqlite:///path``, ``sqlite://:memory:`` or ``redis://…``; ``timeout`` bounds
    every wait on the backend."""
    if url.startswith("sqlite:"):
        return sqlite.from_url(url, timeout=timeout)
    if url.startswith(("redis:", "rediss:", "unix:")):
        return redis.from_url(url, timeout=timeout)
    raise ValueError(f"unsupported storage URL {url!r}")
