"""Sending SMS through pluggable providers, with failover by priority (§1.7, D24).

A provider sends one message or raises :class:`SmsError`. :class:`SmsSender` keeps the
providers ordered by descending priority and sends through the head of the list; a
failing provider is moved to the back and the next one tried, up to ``tries`` attempts in
all. Every ``reset_after`` seconds the order is rebuilt from the priorities, so a provider
that failed once gets its turn again.

Production providers must never log the recipient, the text or the code in clear: the
:mod:`loop.msisdn.sms.log` development provider is the one exception, by design.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Callable, Sequence

from loop.config import ConfigError

logger = logging.getLogger("loop.msisdn.sms")


class SmsError(Exception):
    """The provider did not accept the message. The text is safe to log and to answer
    (it never contains the number or the message)."""


class SmsProvider(abc.ABC):
    name: str = ""
    priority: int = 0

    @abc.abstractmethod
    async def send(self, *, sender: str, to: str, text: str) -> None:
        """Send ``text`` from ``sender`` (a number or an alphanumeric id, maybe ending in
        ``@``) to ``to`` (E.164); raise :class:`SmsError` on any failure."""


class SmsSender:
    def __init__(
        self,
        providers: Sequence[SmsProvider],
        *,
        tries: int,
        reset_after: float,
        now: Callable[[], float],
    ) -> None:
        enabled = [provider for provider in providers if provider.priority > 0]
        if not enabled:
            raise ConfigError(
                "sms_gateways: no SMS provider has a non-zero priority (configure nexmo, or "
                "for development MSISDN_SMS_GATEWAYS__LOG__PRIORITY=1)"
            )
        self._by_priority = sorted(enabled, key=lambda provider: -provider.priority)
        self._order = list(self._by_priority)
        self._tries = tries
        self._reset_after = reset_after
        self._now = now
        self._reset_at = now() + reset_after

    @property
    def order(self) -> list[str]:
        """Provider names in the order the next message will try them."""
        return [provider.name for provider in self._order]

    async def send(self, *, sender: str, to: str, text: str) -> None:
        """Send through the providers in turn; the last :class:`SmsError` if all fail."""
        self._maybe_reset()
        error = SmsError("no provider")
        for _ in range(self._tries):
            provider = self._order[0]
            try:
                await provider.send(sender=sender, to=to, text=text)
            except SmsError as exc:
                logger.warning("sms.failure", extra={"provider": provider.name, "error": str(exc)})
                self._order.append(self._order.pop(0))
                error = exc
            else:
                return
        raise error

    def _maybe_reset(self) -> None:
        if self._now() >= self._reset_at:
            self._order = list(self._by_priority)
            self._reset_at = self._now() + self._reset_after
