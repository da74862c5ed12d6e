"""Keeping every process on one store serving with the same secrets (decisions D31).

Each process serves with the secrets it settled at start-up: the configured ones, and the
generated ones it found in the store (or wrote there first). A store can lose them while
processes run (Redis restarted empty, ``FLUSHALL``, the SQLite file replaced) and the next
process to start then writes new ones: from then on a session made on one process would
get 401 on the other, silently. So the store keeps one *secrets record*: the generated
secrets plus the fingerprint of the effective ones (:func:`fingerprint`; a hash, never a
configured secret itself), and each backend checks its own against it:

* when a Redis connection opens (a Redis restart drops them all), before any command runs
  on it; and every ``storage.secrets_check_interval`` seconds (:meth:`Storage.check_secrets`,
  which catches a ``FLUSHALL`` without a reconnection, and SQLite's file being replaced).
  Each check writes the record if the store has none, so an emptied store is re-seeded with
  the secrets this process already serves with, and a process started later adopts them;
* while the stored fingerprint differs (:class:`SecretsGuard` keeps the verdict), the
  backend refuses every call with :class:`SecretsDiverged` (503 errno 201 with
  ``Retry-After``) and fails the heartbeat, and each check logs ``secrets.diverged`` at
  ERROR. Serving with the wrong secrets
  is never an option; a check that finds the store holding our fingerprint again (the
  record deleted, then re-seeded by us) ends the refusal.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Mapping

from loop.storage.errors import BackendError

logger = logging.getLogger("loop.storage")

FINGERPRINT = "fingerprint"
"""The record's field holding the fingerprint, beside the generated secrets' names."""

WHAT_TO_DO = (
    "restart this process to adopt the stored secrets, or set user_mac_secret, "
    "hawk_id_secret, rooms.hkdf_salt, webrtc.token_secret and push.vapid_private_key "
    "in the configuration of every process"
)


class SecretsDiverged(BackendError):
    """The store holds secrets other than this process's: refused rather than served."""

    def __init__(self) -> None:
        super().__init__(message="secrets diverged from the store's; " + WHAT_TO_DO)


def fingerprint(effective: Mapping[str, str]) -> str:
    """SHA-256 over the effective secrets, names included: equal exactly when every secret
    is. It goes to the store, so configured secrets should be long random values (as the
    generated ones are), not guessable words."""
    canonical = json.dumps(sorted(effective.items()), separators=(",", ":"))
    return hashlib.sha256(b"loop-secrets-v1\n" + canonical.encode()).hexdigest()


class SecretsGuard:
    """One per storage: the record this process holds the store to, and whether the store
    agreed at the last check. Reading :attr:`diverged` is the only cost on the hot path."""

    def __init__(self) -> None:
        self.record: dict[str, str] | None = None
        """The generated secrets and :data:`FINGERPRINT`; ``None`` until pinned."""
        self.diverged = False
        """Set by a check that found another fingerprint: the backend then refuses every
        call with :class:`SecretsDiverged`."""

    def pin(self, record: Mapping[str, str]) -> None:
        if FINGERPRINT not in record:
            raise ValueError("a secrets record needs its fingerprint")
        self.record = dict(record)

    def judge(self, stored: str | None, *, check: str) -> bool:
        """Record what a check (``connect``, ``periodic``, ``start``) found in the store;
        ``True`` when it holds our fingerprint. Logs each divergence found, and the end of
        one; never a secret."""
        ours = self.record[FINGERPRINT] if self.record is not None else ""
        agreed = stored is not None and hmac.compare_digest(stored.encode(), ours.encode())
        if not agreed and check != "start":
            logger.error("secrets.diverged", extra={"check": check, "action": WHAT_TO_DO})
        elif agreed and self.diverged:
            logger.warning("secrets.agreed", extra={"check": check})
        self.diverged = not agreed
        return agreed
