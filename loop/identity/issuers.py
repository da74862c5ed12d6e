"""The BrowserID issuers this server verifies itself, and their keys (decisions D20).

Keys come from, per issuer: the configuration (``[browserid] trusted_issuers``), the MSISDN
gateway mounted in this process (its own signing key, no HTTP), or the issuer's
``/.well-known/browserid`` document, fetched on first use and cached for
``well_known_ttl`` seconds. One fetch per issuer at a time: concurrent sign-ins wait for
it rather than stampeding the issuer. Failed fetches are not cached, so a recovered issuer
is usable at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx

from loop.browserid import (
    PublicKey,
    VerificationError,
    public_key_from_json,
    support_document_keys,
)
from loop.clock import Clock
from loop.config import BrowserIDSettings

logger = logging.getLogger("loop.identity")

KeyProvider = Callable[[], Sequence[PublicKey]]
"""Keys known in-process (the mounted gateway's); empty while it is not started."""


class KeyUnavailable(Exception):
    """A trusted issuer's keys could not be obtained; the message says why."""


class TrustedIssuers:
    def __init__(
        self,
        settings: BrowserIDSettings,
        *,
        http: httpx.AsyncClient,
        clock: Clock,
        providers: Mapping[str, KeyProvider] | None = None,
    ) -> None:
        self._settings = settings
        self._http = http
        self._clock = clock
        self._static: dict[str, list[PublicKey]] = {}
        self._urls: dict[str, str] = {}
        self._providers = dict(providers or {})
        self._cache: dict[str, tuple[float, list[PublicKey]]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        for issuer, entry in settings.trusted_issuers.items():
            self._configure(issuer, entry)

    def _configure(self, issuer: str, entry: Mapping[str, Any]) -> None:
        if "public_key" in entry:
            value = entry["public_key"]
            self._static[issuer] = [
                public_key_from_json(json.loads(value) if isinstance(value, str) else value)
            ]
        else:
            default = f"https://{issuer}/.well-known/browserid"
            self._urls[issuer] = str(entry.get("well_known_url") or default)

    def trusts(self, issuer: str) -> bool:
        return issuer in self._static or issuer in self._urls or issuer in self._providers

    async def keys(self, issuer: str) -> list[PublicKey]:
        """The issuer's current keys; :class:`KeyUnavailable` when they cannot be had."""
        if issuer in self._static:
            return self._static[issuer]
        if issuer in self._providers:
            provided = list(self._providers[issuer]())
            if not provided:
                raise KeyUnavailable(f"the keys of {issuer} are not available yet")
            return provided
        cached = self._cache.get(issuer)
        if cached is not None and cached[0] > self._clock.now():
            return cached[1]
        async with self._locks.setdefault(issuer, asyncio.Lock()):
            cached = self._cache.get(issuer)
            if cached is not None and cached[0] > self._clock.now():
                return cached[1]
            fetched = await self._fetch(issuer, self._urls[issuer])
            self._cache[issuer] = (self._clock.now() + self._settings.well_known_ttl, fetched)
            return fetched

    async def _fetch(self, issuer: str, url: str) -> list[PublicKey]:
        try:
            response = await self._http.get(url, timeout=self._settings.timeout)
            document = response.json() if response.status_code == 200 else None
            return support_document_keys(document)
        except (httpx.HTTPError, ValueError, VerificationError) as exc:
            logger.warning("browserid.keys: cannot fetch the keys of %s: %r", issuer, exc)
            raise KeyUnavailable(f"Unable to fetch the public key of {issuer}") from None
