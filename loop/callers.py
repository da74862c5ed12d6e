"""Who is calling: the results of the authentication policies, as the domain sees them.

Kept apart from :mod:`loop.auth` (which reads HTTP headers) so the domain modules (rooms,
calls, identity) can take a caller without depending on anything HTTP: the edge decides
who the caller is, the domain only uses the answer.
"""

from __future__ import annotations

import dataclasses

from loop.config import Settings
from loop.crypto import hmac_hex
from loop.storage import Session
from loop.storage.accounts import OAuthRecord


@dataclasses.dataclass(frozen=True, slots=True)
class Anonymous:
    """No ``Authorization`` header (link-clickers)."""


@dataclasses.dataclass(frozen=True, slots=True)
class HawkCaller:
    session: Session
    hawk_id: str
    """The Hawk id as sent (needed to decrypt the session's identity)."""


@dataclasses.dataclass(frozen=True, slots=True)
class ParticipantToken:
    """``Authorization: Basic base64(token[:])``: a link-clicker's media token (§3.6).

    Only decoded by the edge; it is valid iff a live participant of the room in the URL
    has ``participant_id`` (the room route checks, answering 401 ``Invalid token; it may
    have expired.`` otherwise)."""

    participant_id: str
    """HMAC(userMacSecret, token)."""


RoomCaller = Anonymous | HawkCaller | ParticipantToken


@dataclasses.dataclass(frozen=True, slots=True)
class OAuthCaller:
    """A Hawk caller whose session has a live FxA OAuth state (§3.8)."""

    caller: HawkCaller
    record: OAuthRecord


def participant_token_id(settings: Settings, token: str) -> str:
    """How a link-clicker's media token is filed: HMAC(userMacSecret, token) (§3.6)."""
    return hmac_hex(settings.user_mac_secret, token, settings.user_mac_algorithm)
