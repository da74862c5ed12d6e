"""The gateway's storage interface (msisdn-and-auth.md §1.8, decisions D22).

Same rules as :mod:`loop.storage`: time is an argument (``now``, Unix seconds) and a record
is visible while ``now < expires_at`` whatever the backend's own expiry; each method is one
round trip shaped after what an endpoint needs; driver errors become
:class:`~loop.storage.BackendError` (503 errno 201).

Everything is filed under ``hawk_id_hmac`` (the Hawk id is never stored). Volatile data
(session, bound MSISDN, code and its wrong-try counter) expires; the certificate record,
written on successful verification, is persistent until ``unregister``.

Codes and numbers are compared as keyed digests (``code_mac``, ``msisdn_mac``) computed
by the caller, so backends compare opaque strings and never hold a code in clear.
"""

from __future__ import annotations

import abc
import dataclasses
import enum
from collections.abc import Mapping


@dataclasses.dataclass(frozen=True, slots=True)
class Credentials:
    """The Hawk key for an id: from the live session, else from the certificate record."""

    hawk_key: str
    verified: bool
    """True when only the certificate record knew the id (the session entry is gone)."""


@dataclasses.dataclass(frozen=True, slots=True)
class CertificateRecord:
    cipher_msisdn: str
    created_at: int
    """Milliseconds: when the number was verified (``lastVerifiedAt``)."""
    last_updated_at: int
    """Milliseconds: the last certificate signing (or the verification)."""
    hawk_key: str


class BindOutcome(enum.Enum):
    BOUND = "bound"
    OTHER_NUMBER = "other_number"
    """The session is already bound to another MSISDN; nothing changed."""
    NO_SESSION = "no_session"
    """``require_session`` was set and no live session has that id; nothing changed."""


class CodeOutcome(enum.Enum):
    VERIFIED = "verified"
    WRONG = "wrong"
    NO_CODE = "no_code"
    NO_MSISDN = "no_msisdn"


@dataclasses.dataclass(frozen=True, slots=True)
class CodeCheck:
    outcome: CodeOutcome
    cipher_msisdn: str | None = None
    """Set when ``outcome`` is ``VERIFIED``."""


class GatewayStorage(abc.ABC):
    @abc.abstractmethod
    async def ensure_secrets(self, candidates: Mapping[str, str]) -> dict[str, str]:
        """Store each candidate whose name has no value yet; return all stored values.

        Every process calling this with its own random candidates ends up with the same
        values (the first writer's), which is how generated secrets survive restarts.
        """

    @abc.abstractmethod
    async def create_session(
        self, hawk_id_hmac: str, *, hawk_key: str, now: float, ttl: float
    ) -> None:
        """Store a new session, alive ``ttl`` seconds (not refreshed by use)."""

    @abc.abstractmethod
    async def credentials(self, hawk_id_hmac: str, *, now: float) -> Credentials | None:
        """The live session's key, else the certificate record's, else ``None``."""

    @abc.abstractmethod
    async def bind(
        self,
        hawk_id_hmac: str,
        *,
        msisdn_mac: str,
        cipher_msisdn: str,
        code_mac: str,
        now: float,
        ttl: float,
        require_session: bool,
    ) -> BindOutcome:
        """Bind the number (unless bound to another) and store a new code, both alive
        ``ttl`` seconds; the new code starts with no wrong tries (D22)."""

    @abc.abstractmethod
    async def check_code(
        self, hawk_id_hmac: str, *, code_mac: str, hawk_key: str, now: float, max_tries: int
    ) -> CodeCheck:
        """Check a code atomically.

        * no live code → ``NO_CODE``;
        * wrong → the counter goes up; at ``max_tries`` the code is deleted; ``WRONG``;
        * right but no bound number → ``NO_MSISDN`` (nothing changed);
        * right → the certificate record ``{cipher, now, now, hawk_key}`` replaces any
          previous one, the volatile data is deleted; ``VERIFIED`` with the cipher.
        """

    @abc.abstractmethod
    async def use_certificate(self, hawk_id_hmac: str, *, now: float) -> CertificateRecord | None:
        """Set the record's ``last_updated_at`` to ``now`` and return it (as updated)."""

    @abc.abstractmethod
    async def unregister(self, hawk_id_hmac: str) -> None:
        """Delete everything filed under that id. No error if nothing is."""

    @abc.abstractmethod
    async def hit(self, bucket: str, *, now: float, period: float) -> tuple[int, float]:
        """Count one request in ``bucket``'s fixed window of ``period`` seconds.

        Returns the count in the current window (this one included) and when the window
        ends (Unix seconds).
        """

    @abc.abstractmethod
    async def ping(self, *, now: float) -> bool:
        """Whether the backend accepts a write (a read-only replica is "down")."""

    @abc.abstractmethod
    async def flush(self) -> None:
        """Delete everything (tests)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections. The storage is unusable afterwards."""


def window(now: float, period: float) -> tuple[int, float]:
    """The fixed window ``now`` falls in: its index and its end."""
    index = int(now // period)
    return index, (index + 1) * period
