"""SMS providers: the Nexmo client against a stand-in, failover by priority, the dev log."""

from __future__ import annotations

import logging

import httpx
import pytest

from loop.config import ConfigError
from loop.msisdn.config import NexmoSettings
from loop.msisdn.sms import SmsError, SmsProvider, SmsSender
from loop.msisdn.sms.log import LogProvider
from loop.msisdn.sms.nexmo import NexmoProvider
from tests.msisdn.conftest import MSISDN, Factory
from tests.support.sms_server import SmsServer


class Flaky(SmsProvider):
    def __init__(self, name: str, priority: int, fail: bool) -> None:
        self.name, self.priority, self.fail = name, priority, fail
        self.sent = 0

    async def send(self, *, sender: str, to: str, text: str) -> None:
        self.sent += 1
        if self.fail:
            raise SmsError(f"{self.name} down")


async def test_nexmo_request_shape(sms: SmsServer) -> None:
    async with httpx.AsyncClient() as http:
        provider = NexmoProvider(
            NexmoSettings(endpoint=sms.endpoint, api_key="key", api_secret="s", priority=1),  # type: ignore[arg-type]
            http=http,
        )
        await provider.send(sender="+123", to=MSISDN, text="hello")
        sms.fail_http(500)
        with pytest.raises(SmsError, match="nexmo"):
            await provider.send(sender="+123", to=MSISDN, text="hello")
    message = sms.messages[-1]
    assert (message.sender, message.to, message.text) == ("123", MSISDN[1:], "hello")
    assert (message.api_key, message.api_secret) == ("key", "s")


async def test_failover_by_priority_and_reset() -> None:
    now = [0.0]
    primary, backup = Flaky("a", 10, fail=True), Flaky("b", 5, fail=False)
    sender = SmsSender([backup, primary], tries=3, reset_after=100, now=lambda: now[0])
    assert sender.order == ["a", "b"]
    await sender.send(sender="s", to="t", text="x")
    assert (primary.sent, backup.sent, sender.order) == (1, 1, ["b", "a"])
    now[0] = 100
    primary.fail = False
    await sender.send(sender="s", to="t", text="x")
    assert (primary.sent, sender.order) == (2, ["a", "b"])


async def test_all_providers_failing() -> None:
    sender = SmsSender(
        [Flaky("a", 2, True), Flaky("b", 1, True)], tries=3, reset_after=1, now=lambda: 0
    )
    with pytest.raises(SmsError, match="a down"):
        await sender.send(sender="s", to="t", text="x")


def test_a_provider_is_required() -> None:
    with pytest.raises(ConfigError, match="LOG__PRIORITY"):
        SmsSender([LogProvider(0)], tries=1, reset_after=1, now=lambda: 0)


async def test_log_provider_writes_the_code(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "loop.msisdn.sms.log"):
        await LogProvider(1).send(sender="s", to=MSISDN, text="123456")
    assert "123456" in caplog.text


async def test_gateway_fails_over_between_real_providers(make_env: Factory) -> None:
    with SmsServer() as down, SmsServer() as up:
        down.refuse("1", "Throttled")

        def chain(http: httpx.AsyncClient) -> SmsSender:
            providers = [
                NexmoProvider(NexmoSettings(endpoint=down.endpoint, priority=10), http=http),
                NexmoProvider(NexmoSettings(endpoint=up.endpoint, priority=5), http=http),
            ]
            return SmsSender(providers, tries=3, reset_after=3600, now=lambda: 0)

        env = await make_env(sms_factory=chain)
        await env.send_code(await env.register())
        assert (down.requests, len(up.messages)) == (1, 1)
