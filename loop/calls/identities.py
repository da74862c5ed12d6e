"""Who a direct call is for (loop-api.md §4.11): ``calleeId`` read as the original read it.

An identity is an e-mail address (any string, lower-cased by the user MAC) or a phone
number object ``{"phoneNumber", "mcc"}`` normalised to E.164 with ``phonenumbers``, using
the country of the mobile country code and then, failing that, no country at all.
Anything unusable is skipped silently, as in the original: only an empty result is an
error (nobody to call).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import phonenumbers

from loop.msisdn.numbers import region_for_mcc

MAX_IDENTITIES = 100
"""More callees than any address book offers are ignored, so one request stays bounded."""
MAX_LENGTH = 256


def callee_identities(callee_id: Any) -> list[str]:
    """The usable identities of ``calleeId`` (one value or an array), in order."""
    values = callee_id if isinstance(callee_id, list) else [callee_id]
    found = (_identity(value) for value in values[:MAX_IDENTITIES])
    return list(dict.fromkeys(identity for identity in found if identity))


def _identity(value: Any) -> str | None:
    if isinstance(value, str):
        return value if 0 < len(value) <= MAX_LENGTH else None
    if isinstance(value, Mapping) and "phoneNumber" in value:
        return phone_number(value.get("phoneNumber"), value.get("mcc"))
    return None


def phone_number(number: Any, mcc: Any = None) -> str | None:
    """``{phoneNumber: "0675002145", mcc: 208}`` → ``+33675002145``; a number with
    neither ``+`` nor an MCC, or invalid in both readings, is ``None``."""
    if not isinstance(number, str) or not 0 < len(number) <= 64:
        return None
    text = number.strip()
    region = region_for_mcc(str(mcc)) if mcc is not None else None
    if region is None and not text.startswith("+"):
        return None
    for attempt in (region, None) if region else (None,):
        parsed = _parse(text, attempt)
        if parsed is not None:
            return parsed
    return None


def _parse(text: str, region: str | None) -> str | None:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
