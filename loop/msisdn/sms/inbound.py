"""Inbound (SMS-MO) webhooks: each provider's parameters → one :class:`InboundSms` (§1.7).

``None`` means the provider's "number setup" ping (no sender), answered 200 and ignored.
Values are read defensively: webhooks are unauthenticated, so anything may arrive.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from loop.msisdn.numbers import guess_mcc

PROVIDERS = ("nexmo", "beepsend")
MAX_TEXT = 1000


@dataclasses.dataclass(frozen=True, slots=True)
class InboundSms:
    msisdn: str
    """``+`` and the sender's digits, as the provider gave them (not validated further)."""
    text: str
    mcc: str | None
    mnc: str | None


def parse(provider: str, params: Mapping[str, Any]) -> InboundSms | None:
    """The message a provider's webhook carries; ``provider`` is one of :data:`PROVIDERS`."""
    parsers: dict[str, Callable[[Mapping[str, Any]], InboundSms | None]] = {
        "nexmo": _nexmo,
        "beepsend": _beepsend,
    }
    return parsers[provider](params)


def _nexmo(params: Mapping[str, Any]) -> InboundSms | None:
    sender = _text(params.get("msisdn"))
    if not sender:
        return None
    network = _text(params.get("network-code"))
    msisdn = "+" + sender
    if len(network) >= 3:
        return _message(msisdn, params.get("text"), network[:3], network[3:6] or None)
    return _message(msisdn, params.get("text"), guess_mcc(msisdn), None)


def _beepsend(params: Mapping[str, Any]) -> InboundSms | None:
    sender = _text(params.get("from"))
    if not sender:
        return None
    msisdn = "+" + sender.lstrip("+")
    codes = params.get("mccmnc")
    source = codes if isinstance(codes, Mapping) else params
    mcc, mnc = _text(source.get("mcc")), _text(source.get("mnc"))
    return _message(msisdn, params.get("message"), mcc or guess_mcc(msisdn), mnc or None)


def _message(msisdn: str, text: Any, mcc: str | None, mnc: str | None) -> InboundSms:
    return InboundSms(msisdn, _text(text)[:MAX_TEXT], mcc, mnc)


def _text(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value.strip() if isinstance(value, str) else ""
