"""Sending SMS through pluggable providers, with failover by priority (§1.7, D24): the
provider interface and the failover (:mod:`.base`), the providers, and
:func:`from_settings` that builds the configured chain."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from loop.msisdn.config import MsisdnSettings
from loop.msisdn.sms.base import SmsError, SmsProvider, SmsSender
from loop.msisdn.sms.log import LogProvider
from loop.msisdn.sms.nexmo import NexmoProvider

__all__ = ["SmsError", "SmsProvider", "SmsSender", "from_settings"]


def from_settings(
    settings: MsisdnSettings, *, http: httpx.AsyncClient, now: Callable[[], float]
) -> SmsSender:
    """The configured providers (those without credentials are left out)."""
    gateways = settings.sms_gateways
    providers: list[SmsProvider] = [LogProvider(gateways.log.priority)]
    if gateways.nexmo.endpoint:
        providers.append(NexmoProvider(gateways.nexmo, http=http))
    return SmsSender(
        providers,
        tries=settings.nb_sms_send_tries,
        reset_after=settings.sms_gateway_reset_timer,
        now=now,
    )
