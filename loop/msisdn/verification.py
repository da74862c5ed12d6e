"""The verification domain: codes, their SMS text, the sealed MSISDN, keyed digests and
rate limits (msisdn-and-auth.md §1.5, §1.7-§1.8, decisions D21-D22).

Codes and numbers are stored only as HMACs keyed with server secrets (plus, for the
number, a copy sealed with the client's Hawk id, which the server never stores: the number
is readable only while that client makes a request).
"""

from __future__ import annotations

import secrets

from loop.crypto import decrypt, encrypt, hmac_hex, session_identity_key
from loop.msisdn import errors
from loop.msisdn.config import MsisdnSettings
from loop.msisdn.storage import GatewayStorage

SHORT_CODE_TEXTS = {
    "en": "Your verification code is: {code}",
    "fr": "Votre code de vérification est : {code}",
    "de": "Ihr Bestätigungscode lautet: {code}",
    "es": "Tu código de verificación es: {code}",
    "it": "Il tuo codice di verifica è: {code}",
}


def short_code(length: int) -> str:
    """``length`` uniformly random decimal digits, leading zeros kept."""
    return f"{secrets.randbelow(10**length):0{length}d}"


def long_code(nbytes: int) -> str:
    return secrets.token_hex(nbytes)


def short_code_text(code: str, accept_language: str | None, default_lang: str) -> str:
    """The localised SMS for a short code: the first supported language the client
    accepts (``Accept-Language`` order, q-values ignored), else the default."""
    wanted = [part.split(";")[0].strip() for part in (accept_language or "").split(",")]
    for tag in [*wanted, default_lang, "en"]:
        text = SHORT_CODE_TEXTS.get(tag.split("-")[0].lower())
        if text is not None:
            return text.format(code=code)
    return SHORT_CODE_TEXTS["en"].format(code=code)


def code_mac(settings: MsisdnSettings, code: str) -> str:
    return hmac_hex(settings.hawk_id_secret, "code:" + code, settings.msisdn_mac_algorithm)


def msisdn_mac(settings: MsisdnSettings, msisdn: str) -> str:
    return hmac_hex(settings.msisdn_id_secret, msisdn, settings.msisdn_mac_algorithm)


def seal(settings: MsisdnSettings, hawk_id: str, msisdn: str) -> str:
    """The MSISDN encrypted with a key only the session's holder can present (its Hawk id)."""
    if settings.fake_encrypt:
        return msisdn
    return encrypt(session_identity_key(hawk_id), msisdn)


def unseal(settings: MsisdnSettings, hawk_id: str, sealed: str) -> str | None:
    """The MSISDN, or ``None`` if it cannot be opened with this Hawk id."""
    if settings.fake_encrypt:
        return sealed
    try:
        return decrypt(session_identity_key(hawk_id), sealed)
    except ValueError:
        return None


def is_hawk_id(value: str) -> bool:
    """64 hex characters: the only shape a derived Hawk id has (and a SecretBox key)."""
    return len(value) == 64 and all(c in "0123456789abcdefABCDEF" for c in value)


async def enforce(
    storage: GatewayStorage,
    *,
    bucket: str,
    limit: int,
    period: float,
    now: float,
    errno: errors.GatewayErrno,
) -> None:
    """Count a request against ``bucket``; 429 ``errno`` once over ``limit`` (0 = off)."""
    if limit <= 0:
        return
    count, window_end = await storage.hit(bucket, now=now, period=period)
    if count > limit:
        raise errors.too_many(errno, window_end - now)
