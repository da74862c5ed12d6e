"""OpenTok / Vonage Video through the official ``opentok`` SDK (decisions D18, D7).

One SDK client per configured channel (``tokbox.credentials``), each with its own API URL
when given, else ``tokbox.api_url``; an unknown channel uses ``default`` (D7).

The SDK is synchronous (``requests``), so session creation runs in a worker thread,
bounded by ``tokbox.timeout`` (both as the SDK's socket timeout and as an asyncio
deadline) and tried up to ``tokbox.retry_on_error`` times, like the original server.
Token minting is local HMAC signing and stays on the event loop.

Tokens are minted in the legacy ``T1==`` format (``use_jwt=False``): it is what the
original server handed out, what Firefox Hello clients' OpenTok SDK understands, and what
OpenTok still accepts; recent SDK versions default to JWT tokens instead.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping

import opentok

from loop.clock import Clock
from loop.config import Settings
from loop.media import MediaError, MediaProvider, MediaSession, Role

DEFAULT_CHANNEL = "default"


@dataclasses.dataclass(frozen=True, slots=True)
class Channel:
    api_key: str
    client: opentok.Client


class TokBoxProvider(MediaProvider):
    name = "tokbox"

    def __init__(
        self,
        credentials: Mapping[str, Mapping[str, str]],
        *,
        api_url: str = "https://api.opentok.com",
        timeout: float = 2.0,
        retry_on_error: int = 3,
    ) -> None:
        """``timeout`` is in seconds and bounds each attempt; ``retry_on_error`` counts
        attempts (at least one is always made)."""
        if DEFAULT_CHANNEL not in credentials:
            raise ValueError("TokBox credentials must contain a 'default' channel")
        self._timeout = timeout
        self._attempts = max(1, retry_on_error)
        self._channels = {
            name: _make_channel(creds, api_url, timeout) for name, creds in credentials.items()
        }
        # Tokens are minted for a stored session, known only by its API key.
        self._by_api_key: dict[str, Channel] = {}
        for channel in self._channels.values():
            self._by_api_key.setdefault(channel.api_key, channel)

    def _channel(self, name: str) -> Channel:
        return self._channels.get(name) or self._channels[DEFAULT_CHANNEL]

    def api_key(self, channel: str) -> str:
        return self._channel(channel).api_key

    async def create_session(self, channel: str) -> MediaSession:
        selected = self._channel(channel)
        failure: BaseException | None = None
        for _ in range(self._attempts):
            try:
                session_id = await self._create_once(selected)
            except MediaError as exc:
                failure = exc
                continue
            return MediaSession(session_id=session_id, api_key=selected.api_key)
        raise MediaError(
            f"TokBox session creation failed after {self._attempts} attempt(s): {failure}"
        ) from failure

    async def _create_once(self, channel: Channel) -> str:
        """One bounded attempt. On timeout the worker thread is abandoned, not killed; the
        SDK's own socket timeout (the same value) ends it shortly after."""
        try:
            async with asyncio.timeout(self._timeout):
                return await asyncio.to_thread(_create_relayed_session, channel.client)
        except TimeoutError:
            raise MediaError(f"timed out after {self._timeout * 1000:.0f} ms") from None
        except Exception as exc:  # the SDK wraps requests' errors, but not every one
            raise MediaError(str(exc) or type(exc).__name__) from exc

    def mint_token(
        self,
        session: MediaSession,
        *,
        role: Role,
        expires_at: int,
        data: str | None = None,
        room: str | None = None,
        participant: str | None = None,
    ) -> str:
        channel = self._by_api_key.get(session.api_key)
        if channel is None:
            raise MediaError(f"no TokBox credentials for API key {session.api_key}")
        try:
            token = channel.client.generate_token(
                session.session_id,
                role=opentok.Roles(role),
                expire_time=int(expires_at),
                data=data,
                use_jwt=False,
            )
        except opentok.OpenTokException as exc:
            raise MediaError(f"cannot mint a TokBox token: {exc}") from exc
        return str(token)

    async def ping(self) -> str | None:
        """Like the original heartbeat: create a throw-away session with the default
        credentials, once, within the timeout."""
        try:
            await self._create_once(self._channels[DEFAULT_CHANNEL])
        except MediaError as exc:
            return f"TokBox Error: {exc}"
        return None


def _make_channel(creds: Mapping[str, str], api_url: str, timeout: float) -> Channel:
    api_key = str(creds["api_key"])
    client = opentok.Client(
        api_key,
        str(creds["api_secret"]),
        # The SDK appends "/session/create" verbatim; a trailing slash would double it.
        api_url=str(creds.get("api_url") or api_url).rstrip("/"),
        timeout=timeout,
    )
    return Channel(api_key=api_key, client=client)


def _create_relayed_session(client: opentok.Client) -> str:
    session = client.create_session(media_mode=opentok.MediaModes.relayed)
    return str(session.session_id)


def from_settings(settings: Settings, clock: Clock) -> TokBoxProvider:
    """The OpenTok SDK dates its tokens itself, so ``clock`` goes unused."""
    tokbox = settings.tokbox
    return TokBoxProvider(
        tokbox.credentials,
        api_url=tokbox.api_url,
        timeout=tokbox.timeout / 1000,
        retry_on_error=tokbox.retry_on_error,
    )
