"""Media providers: who hosts the audio/video of a room or call (decisions D18).

The Loop server never touches media; it asks a provider for a *session* per room or call
and mints per-participant *tokens* that clients hand to the provider's SDK
(``initSession(sessionId)``, ``connect(apiKey, token)``).
"""

from __future__ import annotations

import abc
import dataclasses
import importlib
from typing import Any, Literal

from loop.clock import Clock, SystemClock
from loop.config import Settings

Role = Literal["publisher", "subscriber", "moderator"]


class MediaError(Exception):
    """The provider failed; answered 503 errno 201 like any backend failure."""


@dataclasses.dataclass(frozen=True, slots=True)
class MediaSession:
    session_id: str
    api_key: str


class MediaProvider(abc.ABC):
    name: str
    label: str = "TokBox"
    """How ``/__heartbeat__`` names the provider in its ``message``."""
    signalling: bool = False
    """Whether members meet on this server's signalling channels (:mod:`loop.signalling`),
    which the rooms domain must then close when a participant leaves or a room goes."""

    @abc.abstractmethod
    def api_key(self, channel: str) -> str:
        """The API key used for ``channel``; unknown channels use the default (D7)."""

    @abc.abstractmethod
    async def create_session(self, channel: str) -> MediaSession:
        """A new relayed media session for a room or call. Raises MediaError."""

    @abc.abstractmethod
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
        """A token letting one participant connect to ``session`` until ``expires_at``;
        ``data`` (a JSON string, D3) is shown to the other participants. Pure computation.
        ``room`` and ``participant`` (the room's token, and the participant id when it is
        known before the token) are for providers that check membership themselves."""

    def join_extras(self) -> dict[str, Any]:
        """Fields added to a room join answer (default: none, so real clients of the
        hosted providers see exactly the original answer)."""
        return {}

    @abc.abstractmethod
    async def ping(self) -> str | None:
        """``None`` when the provider is reachable, else a short reason for /__heartbeat__."""

    async def close(self) -> None:  # noqa: B027 - optional hook, most providers hold nothing
        """Release connections (default: nothing to release)."""


def from_settings(settings: Settings, clock: Clock | None = None) -> MediaProvider:
    """The provider named by ``media.provider``; each module exports
    ``from_settings(settings, clock)``. Tokens expire by the app's clock, the one the rest
    of the request sees."""
    module = importlib.import_module(f"loop.media.{settings.media.provider}")
    provider = module.from_settings(settings, clock or SystemClock())
    if not isinstance(provider, MediaProvider):
        raise TypeError(f"{module.__name__}.from_settings did not return a MediaProvider")
    return provider
