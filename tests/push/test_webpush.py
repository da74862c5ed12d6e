"""Web Push delivery (RFC 8030/8291/8292) and the retry policy, against a local push
service that decrypts every message and verifies its VAPID signature."""

from __future__ import annotations

import base64
import dataclasses
import email.utils
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from loop.clock import FakeClock, SystemClock
from loop.config import ConfigError, PushSettings, Secret, Settings, load_settings
from loop.metrics import CountingMetrics
from loop.push import PushNotifier, RetryPolicy, WebPushSender
from loop.push.base import Delivery, parse_retry_after
from loop.push.vapid import VapidSigner, audience, generate_private_key, load_private_key
from loop.storage import PushTarget
from tests.support.waiting import eventually
from tests.support.webpush_server import WebPushServer, verify_vapid

CALL = "loop.webpush.call"
REASON = "rooms.notifyowner.join"
SUBJECT = "mailto:ops@loop.example"
QUICK = RetryPolicy(retries=2, delay=0.05, max_delay=2.0)
CLOCK = SystemClock()

NotifierFactory = Callable[..., PushNotifier]


@pytest.fixture(scope="module")
def push_service() -> Iterator[WebPushServer]:
    with WebPushServer() as server:
        yield server


@pytest.fixture
def server(push_service: WebPushServer) -> Iterator[WebPushServer]:
    """The module's server (TLS set-up is slow), with a clean slate for each test."""
    push_service.reset()
    push_service.requests.clear()
    yield push_service
    push_service.reset()


@pytest.fixture
async def http(server: WebPushServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=None, verify=server.client_context()) as client:
        yield client


@pytest.fixture
def signer() -> VapidSigner:
    return VapidSigner.from_text(generate_private_key(), SUBJECT)


@pytest.fixture
def metrics() -> CountingMetrics:
    return CountingMetrics()


@pytest.fixture
async def make_notifier(
    http: httpx.AsyncClient, signer: VapidSigner, metrics: CountingMetrics
) -> AsyncIterator[NotifierFactory]:
    made: list[PushNotifier] = []

    def make(**options: Any) -> PushNotifier:
        options = {"close_grace": 5.0, "metrics": metrics, "retry": QUICK, **options}
        timeout = options.pop("timeout", 2.0)
        ttl = options.pop("ttl", 3600)
        senders = [WebPushSender(http, signer, ttl=ttl, clock=CLOCK)]
        notifier = PushNotifier(http, timeout, senders=senders, clock=CLOCK, **options)
        made.append(notifier)
        return notifier

    yield make
    for notifier in made:
        await notifier.close()


class Forgotten:
    """A ``forget`` callback that records what it was asked to remove."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, PushTarget]] = []

    async def __call__(self, user: str, target: PushTarget) -> int:
        self.calls.append((user, target))
        return 1


# -- the message ----------------------------------------------------------------------


async def test_the_payload_is_encrypted_for_the_subscription_and_signed(
    server: WebPushServer,
    make_notifier: NotifierFactory,
    signer: VapidSigner,
    metrics: CountingMetrics,
) -> None:
    subscription = server.subscribe("phone")

    notifier = make_notifier(ttl=600)
    notifier.notify([subscription], topic="rooms", version=1_700_000_123, reason=REASON)

    (message,) = await server.messages(1, signer.public_key)
    assert message.payload == {"topic": "rooms", "version": 1_700_000_123}
    assert message.claims["sub"] == SUBJECT
    headers = message.request.headers
    assert (headers["ttl"], headers["urgency"], headers["topic"]) == ("600", "normal", "rooms")
    assert headers["content-type"] == "application/octet-stream"
    assert str(1_700_000_123).encode() not in message.request.body
    await notifier.drain()
    assert metrics.count(CALL, REASON, "success") == 1


async def test_call_notifications_are_urgent(
    server: WebPushServer, make_notifier: NotifierFactory, signer: VapidSigner
) -> None:
    make_notifier().notify(
        [server.subscribe("laptop")], topic="calls", version=5, reason="call.direct"
    )
    (message,) = await server.messages(1, signer.public_key)
    assert message.payload == {"topic": "calls", "version": 5}
    assert message.request.headers["urgency"] == "high"


async def test_each_subscription_gets_its_own_encryption_and_duplicates_one_message(
    server: WebPushServer, make_notifier: NotifierFactory, signer: VapidSigner
) -> None:
    a, b = server.subscribe("a"), server.subscribe("b")
    reordered = {"keys": dict(reversed(list(a["keys"].items()))), "endpoint": a["endpoint"]}

    notifier = make_notifier()
    notifier.notify([a, b, reordered], topic="rooms", version=9, reason=REASON)
    await notifier.close()

    messages = await server.messages(2, signer.public_key)
    assert sorted(m.request.path for m in messages) == ["/wp/a", "/wp/b"]
    assert len(server.requests) == 2
    assert messages[0].request.body[:16] != messages[1].request.body[:16]  # fresh salts


async def test_unusable_subscription_keys_fail_the_delivery_not_the_caller(
    server: WebPushServer, make_notifier: NotifierFactory, metrics: CountingMetrics
) -> None:
    broken = server.subscribe("broken")
    broken["keys"]["p256dh"] = base64.urlsafe_b64encode(b"\x04" + b"\x01" * 64).decode()

    notifier = make_notifier()
    notifier.notify([broken], topic="rooms", version=1, reason=REASON)

    await notifier.drain()
    assert metrics.count(CALL, REASON, "failure") == 1
    assert server.requests == []


async def test_logs_never_show_the_endpoint(
    server: WebPushServer,
    make_notifier: NotifierFactory,
    metrics: CountingMetrics,
    caplog: pytest.LogCaptureFixture,
) -> None:
    subscription = server.subscribe("capability-0123456789")
    server.respond_with(503, times=1)
    server.respond_with(410)
    notifier = make_notifier(forget=Forgotten())
    with caplog.at_level(logging.DEBUG, logger="loop.push"):
        notifier.notify([subscription], topic="rooms", version=1, reason=REASON, user="u")
        await notifier.drain()
    assert metrics.count(CALL, REASON, "gone") == 1
    messages = {record.getMessage() for record in caplog.records}
    assert {"push.retry", "push.delivery", "push.forgotten"} <= messages
    for record in caplog.records:
        assert "capability-0123456789" not in repr(vars(record))
        assert subscription["keys"]["auth"] not in repr(vars(record))
    assert {getattr(r, "push_host", None) for r in caplog.records} == {"127.0.0.1"}


# -- gone subscriptions -----------------------------------------------------------------


@pytest.mark.parametrize("status", [404, 410])
async def test_a_gone_subscription_is_forgotten_for_its_user(
    server: WebPushServer,
    make_notifier: NotifierFactory,
    metrics: CountingMetrics,
    status: int,
) -> None:
    subscription = server.subscribe("old")
    server.respond_with(status)
    forgotten = Forgotten()

    notifier = make_notifier(forget=forgotten)
    notifier.notify([subscription], topic="rooms", version=1, reason=REASON, user="owner-mac")

    await notifier.drain()
    assert forgotten.calls == [("owner-mac", subscription)]
    assert metrics.count(CALL, REASON, "gone") == 1
    assert metrics.count(CALL, "failure") == metrics.count(CALL, "retry") == 0
    assert len(server.requests) == 1


async def test_without_a_user_a_gone_subscription_is_counted_but_kept(
    server: WebPushServer, make_notifier: NotifierFactory, metrics: CountingMetrics
) -> None:
    server.respond_with(410)
    forgotten = Forgotten()
    notifier = make_notifier(forget=forgotten)

    notifier.notify([server.subscribe("x")], topic="rooms", version=1, reason=REASON)
    await notifier.close()

    assert metrics.count(CALL, REASON, "gone") == 1
    assert forgotten.calls == []


async def test_a_failing_forget_is_logged_not_raised(
    server: WebPushServer,
    make_notifier: NotifierFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(user: str, target: PushTarget) -> None:
        raise RuntimeError("storage down")

    server.respond_with(410)
    notifier = make_notifier(forget=broken)
    with caplog.at_level(logging.WARNING, logger="loop.push"):
        notifier.notify([server.subscribe("x")], topic="rooms", version=1, reason=REASON, user="u")
        await notifier.close()
    assert "push.forget failed" in [r.getMessage() for r in caplog.records]


# -- retries ------------------------------------------------------------------------------


def arrivals(server: WebPushServer) -> list[float]:
    """When each request arrived, from the server's log (monotonic seconds)."""
    return [request.at for request in server.requests]


async def test_retry_after_is_honoured_then_the_message_goes_through(
    server: WebPushServer,
    make_notifier: NotifierFactory,
    signer: VapidSigner,
    metrics: CountingMetrics,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server.respond_with(429, headers={"Retry-After": "1"}, times=1)
    server.respond_with(503, times=1)
    subscription = server.subscribe("busy")
    notifier = make_notifier()

    with caplog.at_level(logging.INFO, logger="loop.push"):
        notifier.notify([subscription], topic="rooms", version=3, reason=REASON)
        await notifier.drain()

    messages = await server.messages(3, signer.public_key)
    assert {m.payload["version"] for m in messages} == {3}
    first, second, _ = arrivals(server)
    assert second - first >= 1.0  # Retry-After: 1 was waited out
    waits = [r.wait for r in caplog.records if r.getMessage() == "push.retry"]  # type: ignore[attr-defined]
    assert waits[0] >= 1.0 and 0.05 <= waits[1] <= 0.1  # then plain backoff for the 503
    assert metrics.count(CALL, REASON, "success") == 1
    assert metrics.count(CALL, REASON, "retry") == 2


async def test_retries_back_off_exponentially_and_stop(
    server: WebPushServer, make_notifier: NotifierFactory, metrics: CountingMetrics
) -> None:
    server.respond_with(500)
    policy = RetryPolicy(retries=3, delay=0.1, max_delay=5.0)

    notifier = make_notifier(retry=policy)
    notifier.notify([server.subscribe("down")], topic="rooms", version=1, reason=REASON)

    await notifier.drain()
    assert metrics.count(CALL, REASON, "failure") == 1
    times = arrivals(server)
    assert len(times) == 4  # one attempt and three retries, no more
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    for gap, backoff in zip(gaps, (0.1, 0.2, 0.4), strict=True):
        assert gap >= backoff * 0.5  # jitter takes at most half off
    assert metrics.count(CALL, REASON, "retry") == 3


async def test_a_retry_after_beyond_the_cap_ends_the_delivery(
    server: WebPushServer, make_notifier: NotifierFactory, metrics: CountingMetrics
) -> None:
    server.respond_with(429, headers={"Retry-After": "3600"})
    notifier = make_notifier()
    notifier.notify([server.subscribe("limited")], topic="rooms", version=1, reason=REASON)
    await notifier.drain()
    assert metrics.count(CALL, REASON, "failure") == 1
    assert len(server.requests) == 1


@pytest.mark.parametrize("status", [400, 401, 403, 413])
async def test_client_errors_are_not_retried(
    server: WebPushServer, make_notifier: NotifierFactory, metrics: CountingMetrics, status: int
) -> None:
    server.respond_with(status)
    notifier = make_notifier()
    notifier.notify([server.subscribe("bad")], topic="rooms", version=1, reason=REASON)
    await notifier.drain()
    assert metrics.count(CALL, REASON, "failure") == 1
    assert len(server.requests) == 1
    assert metrics.count(CALL, "retry") == 0


async def test_a_delivery_waiting_to_retry_holds_no_concurrency_slot(
    server: WebPushServer, make_notifier: NotifierFactory, metrics: CountingMetrics
) -> None:
    """ "busy" is told to come back in a minute; "free", notified meanwhile, goes out at
    once through the only slot. (Were the slot held, "free" would wait the minute and
    ``wait_for`` would fail first.)"""
    server.respond_with(503, headers={"Retry-After": "60"}, path="/wp/busy", times=1)
    notifier = make_notifier(max_concurrency=1, retry=RetryPolicy(1, 0.05, 120), close_grace=0)

    notifier.notify([server.subscribe("busy")], topic="rooms", version=1, reason=REASON)
    await server.wait_for(1)
    notifier.notify([server.subscribe("free")], topic="rooms", version=1, reason=REASON)

    requests = await server.wait_for(2)
    assert [r.path for r in requests] == ["/wp/busy", "/wp/free"]
    await eventually(lambda: notifier.pending == 1, what='"free" delivered')
    assert metrics.count(CALL, REASON, "success") == metrics.count(CALL, REASON, "retry") == 1
    await notifier.close()  # cancels the minute's wait
    assert len(server.requests) == 2


async def test_a_timeout_is_not_retried(
    server: WebPushServer, make_notifier: NotifierFactory, metrics: CountingMetrics
) -> None:
    server.hang()
    notifier = make_notifier(timeout=0.2)
    notifier.notify([server.subscribe("stuck")], topic="rooms", version=1, reason=REASON)
    await notifier.drain()
    assert metrics.count(CALL, REASON, "failure") == 1
    assert len(server.requests) == 1


def test_the_policy_retries_only_transient_failures() -> None:
    policy = RetryPolicy(retries=2, delay=1.0, max_delay=3.0)
    connect = httpx.ConnectError("refused")
    assert policy.wait(0, None, connect) is not None
    assert policy.wait(0, None, TimeoutError()) is None
    assert policy.wait(0, None, httpx.ReadError("reset")) is None
    assert policy.wait(0, Delivery(502), None) is not None
    assert policy.wait(0, Delivery(410), None) is None
    assert policy.wait(2, Delivery(503), None) is None  # retries used up
    for attempt in range(2):
        wait = policy.wait(attempt, Delivery(503), None)
        assert wait is not None and 0.5 * 2**attempt <= wait <= min(3.0, 2**attempt)
    assert policy.wait(0, Delivery(429, retry_after=2.5), None) == 2.5
    assert policy.wait(0, Delivery(429, retry_after=3.5), None) is None


def test_retry_after_is_read_as_seconds_or_a_date() -> None:
    now = FakeClock().now()
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after(email.utils.formatdate(now + 60, usegmt=True), now) == 60.0
    assert parse_retry_after(email.utils.formatdate(now - 60, usegmt=True), now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after("-5", now) is None


def test_a_retry_after_date_is_read_against_the_apps_clock() -> None:
    clock = FakeClock()
    response = httpx.Response(
        503, headers={"Retry-After": email.utils.formatdate(clock.now() + 30, usegmt=True)}
    )
    assert Delivery.from_response(response, now=clock.now()).retry_after == 30.0


# -- VAPID ---------------------------------------------------------------------------------


def test_vapid_keys_are_read_raw_der_or_pem() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    raw = base64.urlsafe_b64encode(key.private_numbers().private_value.to_bytes(32, "big"))
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    expected = VapidSigner(key, SUBJECT).public_key
    for text in (
        raw.decode(),
        raw.decode().rstrip("="),
        base64.b64encode(der).decode(),
        pem.decode(),
    ):
        assert VapidSigner.from_text(text, SUBJECT).public_key == expected


def test_unusable_vapid_keys_are_config_errors() -> None:
    rsa_or_junk = ["", "not base64 !", base64.urlsafe_b64encode(b"x" * 40).decode()]
    p384 = ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    for text in [*rsa_or_junk, p384.decode()]:
        with pytest.raises(ConfigError, match="push.vapid_private_key"):
            load_private_key(text)


def test_the_public_key_is_the_raw_uncompressed_point() -> None:
    raw = base64.urlsafe_b64decode(
        VapidSigner.from_text(generate_private_key(), SUBJECT).public_key + "="
    )
    assert len(raw) == 65 and raw[0] == 4


def test_the_token_names_the_endpoints_origin_and_expires_within_a_day(
    signer: VapidSigner,
) -> None:
    header = signer.authorization("https://push.example:8443/wpush/v2/abc?x=1")
    claims = verify_vapid(header, signer.public_key, "https://push.example:8443")
    assert claims["sub"] == SUBJECT
    assert audience("https://user@push.example/x") == "https://push.example"


def test_web_push_is_on_when_a_vapid_key_is_configured() -> None:
    http = httpx.AsyncClient()
    plain = PushNotifier.from_settings(Settings(), http=http)
    assert plain.vapid_public_key is None and "webpush" not in plain.senders
    key = generate_private_key()
    settings = dataclasses.replace(
        Settings(),
        push=PushSettings(vapid_private_key=Secret(key), retries=5),
    )
    notifier = PushNotifier.from_settings(settings, http=http)
    assert notifier.vapid_public_key == VapidSigner.from_text(key, SUBJECT).public_key
    assert isinstance(notifier.senders["webpush"], WebPushSender)
    assert notifier.retry.retries == 5


def test_push_settings_are_validated() -> None:
    for env, key in [
        ({"LOOP_PUSH__VAPID_SUBJECT": "ops@example.com"}, "push.vapid_subject"),
        ({"LOOP_PUSH__RETRIES": "-1"}, "push.retries"),
        ({"LOOP_PUSH__MAX_RETRY_DELAY": "-1"}, "push.max_retry_delay"),
    ]:
        with pytest.raises(ConfigError, match=key):
            load_settings(environ=env)
    settings = load_settings(environ={"LOOP_PUSH__VAPID_PRIVATE_KEY": "secret-key"})
    assert "secret-key" not in repr(settings)
