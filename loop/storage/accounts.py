"""Storage for identities: FxA OAuth state and tokens, account deletion (D13).

Part of the :class:`~loop.storage.Storage` interface; each backend implements it in its own
``accounts`` module, and ``loop/storage/testing/accounts.py`` holds its contract.

An *OAuth session* (loop-api.md §3.8) is a Hawk session with a live OAuth state: the
``/fxa-oauth/*`` routes accept no other. The state and the access token each live
``ttl`` seconds from when they were written (they are not touched by Hawk requests, as in
the original).

Every concern that files data under a user contributes a step to
:meth:`AccountStorage.delete_account`, listed explicitly in each backend's ``accounts``
module (``ACCOUNT_DELETION_STEPS``: SQL statements run in the deletion's transaction on
SQLite, ``lua/delete_account_<concern>.lua`` files joined into the deletion script on
Redis), so the deletion stays one transaction / one script.
"""

from __future__ import annotations

import abc
import dataclasses


@dataclasses.dataclass(frozen=True, slots=True)
class OAuthRecord:
    """What an OAuth session holds: its current state and, once traded, the token."""

    state: str
    token: str | None = None


class AccountStorage(abc.ABC):
    """What a signed-in user's identity brings: OAuth state, and forgetting everything."""

    @abc.abstractmethod
    async def start_oauth(self, hawk_id_hmac: str, *, state: str, now: float, ttl: float) -> str:
        """Make the session an OAuth session: store ``state`` unless it already has a live
        one, and return the live state (the existing one is kept unchanged)."""

    @abc.abstractmethod
    async def get_oauth(self, hawk_id_hmac: str, *, now: float) -> OAuthRecord | None:
        """The session's OAuth record, or ``None`` if it has no live state (not an OAuth
        session). ``token`` is ``None`` when none was stored or it expired."""

    @abc.abstractmethod
    async def rotate_oauth_state(
        self, hawk_id_hmac: str, *, state: str, now: float, ttl: float
    ) -> str | None:
        """Replace the live state by ``state`` and return the previous one, atomically, so
        a state can be compared at most once. ``None`` (and nothing stored) when the
        session has no live state."""

    @abc.abstractmethod
    async def set_oauth_token(
        self, hawk_id_hmac: str, *, token: str, now: float, ttl: float
    ) -> None:
        """Store the session's FxA access token (replacing any previous one)."""

    @abc.abstractmethod
    async def delete_account(self, user: str, *, hawk_id_hmac: str, now: float) -> None:
        """Forget everything of ``user`` (decisions D13), in one operation: the rooms it
        owns with their participants, contexts and deletion log; every session bound to
        ``user`` and the session ``hawk_id_hmac`` (the caller's, also when it is a guest),
        with their nonces, OAuth records and push registrations; the push registrations
        filed under ``user``; and the calls' URLs and calls (module docstring).
        No error when there is nothing to delete."""
