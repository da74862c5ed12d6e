"""Hawk for the gateway (msisdn-and-auth.md §1.4), through the shared :mod:`loop.hawk`.

Only the credential lookup differs from Loop's: the live session first, then the
certificate record of a verified session (whose session entry is gone), and no nonce
cache, as in the original.
"""

from __future__ import annotations

import dataclasses

from starlette.requests import Request

from loop import errors, hawk
from loop.crypto import hmac_hex
from loop.msisdn.config import MsisdnSettings
from loop.msisdn.services import Gateway


@dataclasses.dataclass(frozen=True, slots=True)
class Caller:
    hawk_id: str
    """As sent: the key the caller's MSISDN is sealed with."""
    hawk_id_hmac: str
    hawk_key: str


def hawk_id_hmac(settings: MsisdnSettings, hawk_id: str) -> str:
    """How the gateway files a session: the Hawk id itself is never stored."""
    return hmac_hex(settings.hawk_id_secret, hawk_id, settings.msisdn_mac_algorithm)


async def require_hawk(request: Request, gateway: Gateway) -> Caller:
    """The caller's verified credentials, or the spec's 400/401 errno 110."""
    value = request.headers.get("authorization", "")
    scheme, attributes_text = hawk.split_scheme(value) if value.strip() else ("", "")
    if scheme != hawk.SCHEME:
        raise hawk.missing_credentials()
    found: list[Caller] = []

    async def lookup(attributes: dict[str, str]) -> str:
        filed_as = hawk_id_hmac(gateway.settings, attributes["id"])
        credentials = await gateway.storage.credentials(filed_as, now=gateway.clock.now())
        if credentials is None:
            raise errors.unauthorized(
                f'Hawk error="{hawk.UNKNOWN_CREDENTIALS}"', hawk.UNKNOWN_CREDENTIALS
            )
        found.append(Caller(attributes["id"], filed_as, credentials.hawk_key))
        return credentials.hawk_key

    await hawk.verify_with(
        request,
        attributes_text,
        lookup=lookup,
        protocol=gateway.settings.protocol,
        timestamp_skew=gateway.settings.hawk_timestamp_skew,
        check_payload_hash=True,
        now=gateway.clock.now,
    )
    return found[0]
