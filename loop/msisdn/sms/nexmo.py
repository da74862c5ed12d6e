"""Nexmo / Vonage SMS API (§1.7): ``GET <endpoint>?api_key&api_secret&from&to&text``.

The answer is JSON; ``messages[0].status`` other than ``"0"`` is a refusal, reported as
``"<status> — <error-text>"``. Numbers are sent without their ``+``. Nothing about the
message (number, text) is logged.
"""

from __future__ import annotations

from typing import Any

import httpx

from loop.msisdn.config import NexmoSettings
from loop.msisdn.sms.base import SmsError, SmsProvider


class NexmoProvider(SmsProvider):
    name = "nexmo"

    def __init__(self, settings: NexmoSettings, *, http: httpx.AsyncClient) -> None:
        self.priority = settings.priority
        self._settings = settings
        self._http = http

    async def send(self, *, sender: str, to: str, text: str) -> None:
        params = {
            "api_key": self._settings.api_key,
            "api_secret": str(self._settings.api_secret),
            "from": sender.replace("+", ""),
            "to": to.replace("+", ""),
            "text": text,
        }
        try:
            response = await self._http.get(
                self._settings.endpoint, params=params, timeout=self._settings.timeout
            )
            body: Any = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise SmsError(f"nexmo: {type(exc).__name__}") from None
        _check(body, response.status_code)


def _check(body: Any, status_code: int) -> None:
    try:
        message = body["messages"][0]
        status = str(message["status"])
    except (KeyError, IndexError, TypeError):
        raise SmsError(f"nexmo: unexpected answer (HTTP {status_code})") from None
    if status != "0":
        raise SmsError(f"{status} — {message.get('error-text', '')}")
