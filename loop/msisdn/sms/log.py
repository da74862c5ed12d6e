"""DEVELOPMENT ONLY: an SMS "provider" that writes each message, **code included, in
clear**, to the log, so the whole verification flow works offline (decisions D24).

It is the one place numbers and codes are logged, which is why the settings refuse it
when ``env`` is ``production``.
"""

from __future__ import annotations

import logging

from loop.msisdn.sms.base import SmsProvider

logger = logging.getLogger("loop.msisdn.sms.log")


class LogProvider(SmsProvider):
    name = "log"

    def __init__(self, priority: int) -> None:
        self.priority = priority

    async def send(self, *, sender: str, to: str, text: str) -> None:
        logger.warning("DEV SMS from %s to %s: %s", sender, to, text)
