"""Signed-in users: how a verified identity becomes a Hawk session (loop-api.md §3.1-§3.2,
§3.5, §3.7-§3.8).

An identity is a verified e-mail address (FxA) or an E.164 phone number (the MSISDN
gateway). It is never stored in clear: sessions carry ``user_mac`` (a keyed hash of the
lower-cased identity, what everything the user owns is filed under, so every device of a
user sees the same rooms) and the identity encrypted with the session's Hawk id, which only
the device holding the session token can present.

* :mod:`.browserid` — ``Authorization: BrowserID <backed assertion>`` on ``/registration``;
* :mod:`.issuers` — the issuers verified locally and their keys;
* :mod:`.remote` — the remote verifier (``fxa_verifier``) and its health check;
* :mod:`.fxa` — the FxA OAuth and profile servers;
* :mod:`.oauth` — the FxA OAuth login's state.

The MSISDN gateway mounted in this process is wired by :mod:`loop.msisdn.mount`.
"""

from __future__ import annotations

from loop.config import Settings
from loop.crypto import encrypt, hawk_credentials, hmac_hex, random_hex, session_identity_key
from loop.services import AccountServices, SessionServices
from loop.sessions import hawk_id_hmac
from loop.storage import Session

SESSION_TOKEN_BYTES = 32


def user_mac(settings: Settings, identity: str) -> str:
    """What a user's data is filed under; case-insensitive since the original's 0.15."""
    return hmac_hex(settings.user_mac_secret, identity.lower(), settings.user_mac_algorithm)


def seal(hawk_id: str, identity: str) -> str:
    """The identity as a session stores it: readable only with that session's Hawk id."""
    return encrypt(session_identity_key(hawk_id), identity)


async def create_bound_session(
    services: SessionServices, identity: str
) -> tuple[str, Session, str]:
    """A brand-new session already bound to ``identity``, in one storage round trip:
    ``(session token, session, Hawk id)``."""
    settings = services.settings
    token = random_hex(SESSION_TOKEN_BYTES)
    hawk_id, hawk_key = hawk_credentials(token)
    session = Session(
        hawk_id_hmac=hawk_id_hmac(settings, hawk_id),
        hawk_key=hawk_key,
        user_mac=user_mac(settings, identity),
        encrypted_identity=seal(hawk_id, identity),
    )
    await services.storage.create_session(
        session, now=services.clock.now(), ttl=settings.hawk_session_duration
    )
    return token, session, hawk_id


async def bind(services: SessionServices, session: Session, hawk_id: str, identity: str) -> None:
    """Bind an existing session to ``identity`` (after an FxA OAuth login)."""
    settings = services.settings
    await services.storage.bind_identity(
        session.hawk_id_hmac,
        user_mac=user_mac(settings, identity),
        encrypted_identity=seal(hawk_id, identity),
        now=services.clock.now(),
        ttl=settings.hawk_session_duration,
    )


async def delete_account(services: AccountServices, session: Session) -> None:
    """Forget everything of the session's user, on every device (D13); a guest's
    "account" is its own device, which the session's Hawk id names."""
    await services.storage.delete_account(
        session.user, hawk_id_hmac=session.hawk_id_hmac, now=services.clock.now()
    )
