"""Hawk request verification (loop-api.md §3.3, decisions D4, D15, §6)."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
from types import SimpleNamespace
from typing import Any

import httpx
import mohawk
import pytest
from mohawk.util import calculate_ts_mac
from starlette.requests import Request

from loop import auth
from loop.config import GaSettings, HawkSettings
from loop.errors import LoopError
from loop.hawk import hawk_id_hmac
from loop.storage import BackendError
from loop.storage.checks import KnownSessions
from loop.web.middleware import SERVER_AUTHORIZATION_KEY
from tests.routes.conftest import Harness
from tests.support.client import HawkSession, assert_error

BASE = "http://localhost:5000"


def configure(harness: Harness, **overrides: Any) -> None:
    """Change the running app's settings (routes read them per request)."""
    harness.services.settings = dataclasses.replace(harness.services.settings, **overrides)


async def signed(
    harness: Harness,
    session: HawkSession,
    method: str,
    path: str,
    *,
    signed_url: str | None = None,
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
) -> httpx.Response:
    """A request to ``path`` whose Hawk header was computed for ``signed_url``."""
    client = harness.client
    url = BASE + client.prefix + path
    headers = dict(headers or {})
    headers["Authorization"] = client.hawk_header(session, signed_url or url, method)
    return await client.http.request(method, url, headers=headers, content=content)


async def test_valid_header_is_accepted(harness: Harness, prefix: str) -> None:
    harness.client.prefix = prefix
    session = await harness.client.register()
    response = await harness.client.delete("/registration", hawk=session)
    assert response.status_code == 204
    assert response.headers["server-authorization"].startswith('Hawk mac="')


async def test_scheme_is_case_insensitive(harness: Harness) -> None:
    session = await harness.client.register()
    header = harness.client.hawk_header(session, BASE + "/registration", "DELETE")
    response = await harness.client.http.delete(
        "/registration", headers={"Authorization": "hAWK " + header[len("Hawk ") :]}
    )
    assert response.status_code == 204


async def test_missing_header_is_401_with_bare_challenge(harness: Harness, prefix: str) -> None:
    harness.client.prefix = prefix
    response = await harness.client.delete("/registration")
    assert_error(response, 401, 110, "Unauthorized")
    assert response.headers["www-authenticate"] == "Hawk"
    assert "timestamp" in response.headers
    assert "server-authorization" not in response.headers


@pytest.mark.parametrize("value", ["Basic Zm9vOg==", "Bearer abc", "Token", " "])
async def test_foreign_scheme_is_401_with_bare_challenge(harness: Harness, value: str) -> None:
    response = await harness.client.delete("/registration", headers={"Authorization": value})
    assert_error(response, 401, 110, "Unauthorized")
    assert response.headers["www-authenticate"] == "Hawk"


async def test_unknown_id_is_401_unknown_credentials(harness: Harness, prefix: str) -> None:
    harness.client.prefix = prefix
    stranger = HawkSession.from_token("ab" * 32)
    response = await harness.client.delete("/registration", hawk=stranger)
    assert_error(response, 401, 110, "Unknown credentials")
    assert response.headers["www-authenticate"] == 'Hawk error="Unknown credentials"'


async def test_wrong_key_is_401_bad_mac(harness: Harness) -> None:
    session = await harness.client.register()
    forged = dataclasses.replace(session, key="00" * 32)
    response = await harness.client.delete("/registration", hawk=forged)
    assert_error(response, 401, 110, "Bad mac")
    assert response.headers["www-authenticate"] == 'Hawk error="Bad mac"'
    assert "server-authorization" not in response.headers


@pytest.mark.parametrize(
    "signed_path",
    ["/session", "/registration?x=1", "/v0/registration"],
    ids=["other-path", "query-added", "prefix-added"],
)
async def test_mac_covers_the_request_target(harness: Harness, signed_path: str) -> None:
    session = await harness.client.register()
    response = await signed(
        harness, session, "DELETE", "/registration", signed_url=BASE + signed_path
    )
    assert_error(response, 401, 110, "Bad mac")


async def test_mac_covers_the_method(harness: Harness) -> None:
    session = await harness.client.register()
    header = harness.client.hawk_header(session, BASE + "/registration", "GET")
    response = await harness.client.http.delete("/registration", headers={"Authorization": header})
    assert_error(response, 401, 110, "Bad mac")


async def test_query_string_is_part_of_the_signed_target(harness: Harness, prefix: str) -> None:
    harness.client.prefix = prefix
    session = await harness.client.register()
    response = await harness.client.delete("/registration?simplePushURL=x%20y", hawk=session)
    assert response.status_code == 204


@pytest.mark.parametrize(
    ("host", "signed_url", "ok"),
    [
        ("example.com", "http://example.com/registration", True),
        ("example.com:80", "http://example.com/registration", True),
        ("example.com:8080", "http://example.com:8080/registration", True),
        ("example.com:8080", "http://example.com/registration", False),
        ("example.com", "http://other.example.com/registration", False),
        ("[::1]:5000", "http://[::1]:5000/registration", True),
    ],
)
async def test_host_and_port_come_from_the_host_header(
    harness: Harness, host: str, signed_url: str, ok: bool
) -> None:
    session = await harness.client.register()
    response = await signed(
        harness, session, "DELETE", "/registration", signed_url=signed_url, headers={"Host": host}
    )
    if ok:
        assert response.status_code == 204, response.text
    else:
        assert_error(response, 401, 110, "Bad mac")


@pytest.mark.parametrize(
    ("host", "signed_url", "ok"),
    [
        ("loop.example.com", "https://loop.example.com/registration", True),
        ("loop.example.com:8443", "https://loop.example.com/registration", True),
        ("loop.example.com", "http://loop.example.com/registration", False),
    ],
)
async def test_port_is_443_behind_tls(
    harness: Harness, host: str, signed_url: str, ok: bool
) -> None:
    session = await harness.client.register()
    configure(harness, protocol="https")
    response = await signed(
        harness, session, "DELETE", "/registration", signed_url=signed_url, headers={"Host": host}
    )
    assert response.status_code == (204 if ok else 401), response.text


@pytest.mark.parametrize(
    ("public", "protocol", "signed_url", "ok"),
    [
        ("loop.example.org", "https", "https://loop.example.org/registration", True),
        ("loop.example.org:8443", "https", "https://loop.example.org:8443/registration", True),
        ("loop.example.org", "http", "http://loop.example.org/registration", True),
        ("LOOP.example.org:8080", "http", "http://loop.example.org:8080/registration", True),
        ("[::1]:5000", "http", "http://[::1]:5000/registration", True),
        ("loop.example.org", "https", BASE + "/registration", False),
        ("loop.example.org", "https", "https://other.example.org/registration", False),
        ("loop.example.org:8443", "https", "https://loop.example.org/registration", False),
    ],
)
async def test_check_host_public_verifies_against_the_public_address(
    harness: Harness, public: str, protocol: str, signed_url: str, ok: bool
) -> None:
    """Behind a proxy that rewrites ``Host``, clients sign the public address."""
    session = await harness.client.register()
    configure(
        harness,
        hawk=HawkSettings(check_host="public"),
        public_server_address=public,
        protocol=protocol,
    )
    response = await signed(
        harness,
        session,
        "DELETE",
        "/registration",
        signed_url=signed_url,
        headers={"Host": "10.0.0.7:5000"},
    )
    if ok:
        assert response.status_code == 204, response.text
    else:
        assert_error(response, 401, 110, "Bad mac")


async def test_check_host_request_is_the_default(harness: Harness) -> None:
    assert harness.services.settings.hawk.check_host == "request"
    session = await harness.client.register()
    configure(harness, public_server_address="loop.example.org")
    public = await signed(
        harness,
        session,
        "DELETE",
        "/registration",
        signed_url="http://loop.example.org/registration",
    )
    assert_error(public, 401, 110, "Bad mac")


@pytest.mark.parametrize("host", ["", "exa mple.com", "example.com:port", "[::1", "a:1:2"])
async def test_invalid_host_header_is_400(harness: Harness, host: str) -> None:
    session = await harness.client.register()
    response = await signed(harness, session, "DELETE", "/registration", headers={"Host": host})
    assert_error(response, 400, 110, "Invalid Host header")


@pytest.mark.parametrize("offset", [-61, 61, 3600])
async def test_stale_timestamp_gives_a_verifiable_server_time(
    harness: Harness, offset: int
) -> None:
    session = await harness.client.register()
    header = harness.client.hawk_header(session, BASE + "/registration", "DELETE")
    harness.clock.advance(offset)
    response = await harness.client.http.delete("/registration", headers={"Authorization": header})
    assert_error(response, 401, 110, "Stale timestamp")
    now = int(harness.clock.now())
    tsm = calculate_ts_mac(now, session.credentials).decode()
    expected = f'Hawk ts="{now}", tsm="{tsm}", error="Stale timestamp"'
    assert response.headers["www-authenticate"] == expected
    assert response.headers["timestamp"] == str(now)


@pytest.mark.parametrize("offset", [-60, 60])
async def test_timestamp_within_the_skew_is_accepted(harness: Harness, offset: int) -> None:
    session = await harness.client.register()
    header = harness.client.hawk_header(session, BASE + "/registration", "DELETE")
    harness.clock.advance(offset)
    response = await harness.client.http.delete("/registration", headers={"Authorization": header})
    assert response.status_code == 204


async def test_skew_is_configurable(harness: Harness) -> None:
    session = await harness.client.register()
    configure(harness, hawk=HawkSettings(timestamp_skew=5))
    header = harness.client.hawk_header(session, BASE + "/registration", "DELETE")
    harness.clock.advance(6)
    response = await harness.client.http.delete("/registration", headers={"Authorization": header})
    assert_error(response, 401, 110, "Stale timestamp")


async def test_replayed_request_is_refused(harness: Harness, prefix: str) -> None:
    harness.client.prefix = prefix
    session = await harness.client.register()
    first = await harness.client.delete("/registration", hawk=session, nonce="n0nce")
    assert first.status_code == 204
    replay = await harness.client.delete("/registration", hawk=session, nonce="n0nce")
    assert_error(replay, 401, 110, "Invalid nonce")
    assert replay.headers["www-authenticate"] == 'Hawk error="Invalid nonce"'
    other = await harness.client.delete("/registration", hawk=session, nonce="other")
    assert other.status_code == 204


def signed_at(session: HawkSession, timestamp: int, nonce: str, *, mac: str = "") -> str:
    """A Hawk header for ``DELETE /registration`` signed at ``timestamp`` (server clock
    or not), with its MAC replaced by ``mac`` when given."""
    sender = mohawk.Sender(
        session.credentials,
        BASE + "/registration",
        "DELETE",
        content=mohawk.base.EmptyValue,
        content_type=mohawk.base.EmptyValue,
        always_hash_content=False,
        nonce=nonce,
        _timestamp=timestamp,
    )
    header = str(sender.request_header)
    return re.sub(r'mac="[^"]*"', f'mac="{mac}"', header) if mac else header


async def delete_with(harness: Harness, header: str) -> httpx.Response:
    return await harness.client.http.delete("/registration", headers={"Authorization": header})


async def test_nonce_is_kept_until_its_timestamp_can_no_longer_be_accepted(
    harness: Harness,
) -> None:
    """Issue 12: signed at now+60 (inside the skew), the nonce was forgotten 120 s after
    first use while the timestamp was still acceptable, so the replay at +120.3 went in."""
    session = await harness.client.register()
    header = signed_at(session, int(harness.clock.now()) + 60, "early")
    assert (await delete_with(harness, header)).status_code == 204
    harness.clock.advance(119.9)
    assert_error(await delete_with(harness, header), 401, 110, "Invalid nonce")
    harness.clock.advance(0.4)
    assert_error(await delete_with(harness, header), 401, 110, "Invalid nonce")
    harness.clock.advance(0.7)
    assert_error(await delete_with(harness, header), 401, 110, "Stale timestamp")


async def test_a_wrong_mac_does_not_burn_the_nonce(harness: Harness) -> None:
    session = await harness.client.register()
    now = int(harness.clock.now())
    forged = signed_at(session, now, "shared", mac="AAAA")
    assert_error(await delete_with(harness, forged), 401, 110, "Bad mac")
    genuine = signed_at(session, now, "shared")
    assert (await delete_with(harness, genuine)).status_code == 204
    assert_error(await delete_with(harness, genuine), 401, 110, "Invalid nonce")


async def test_a_stale_request_does_not_burn_the_nonce(harness: Harness) -> None:
    session = await harness.client.register()
    now = int(harness.clock.now())
    stale = signed_at(session, now - 61, "shared")
    assert_error(await delete_with(harness, stale), 401, 110, "Stale timestamp")
    assert (await delete_with(harness, signed_at(session, now, "shared"))).status_code == 204


async def test_same_nonce_with_another_timestamp_is_not_a_replay(harness: Harness) -> None:
    """Hawk nonces are unique per credentials, timestamp and nonce."""
    session = await harness.client.register()
    now = int(harness.clock.now())
    assert (await delete_with(harness, signed_at(session, now, "shared"))).status_code == 204
    assert (await delete_with(harness, signed_at(session, now + 1, "shared"))).status_code == 204
    replay = await delete_with(harness, signed_at(session, now + 1, "shared"))
    assert_error(replay, 401, 110, "Invalid nonce")


@pytest.mark.parametrize(
    "attributes",
    [
        'id="abc", ts="soon", nonce="n", mac="m"',
        'id="abc", ts="1", nonce="n", mac="m", colour="red"',
        'id="abc", ts="1", nonce="n", mac="m", id="def"',
        'id=abc, ts="1", nonce="n", mac="m"',
        'id="a\\"b", ts="1", nonce="n", mac="m"',
        "garbage",
    ],
)
async def test_malformed_header_is_400_bad_header_format(
    harness: Harness, attributes: str
) -> None:
    response = await harness.client.delete(
        "/registration", headers={"Authorization": f"Hawk {attributes}"}
    )
    assert_error(response, 400, 110, "Bad header format")


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ("", "Invalid header syntax"),
        ('id="abc"', "Missing attributes"),
        ('id="abc", ts="1", nonce="n"', "Missing attributes"),
        ('id="", ts="1", nonce="n", mac="m"', "Missing attributes"),
    ],
)
async def test_bare_or_incomplete_header_is_400_with_hawks_text(
    harness: Harness, attributes: str, message: str
) -> None:
    """loop-api.md §3.3: the Hawk library's own texts, not ``Bad header format``."""
    response = await harness.client.delete(
        "/registration", headers={"Authorization": f"Hawk {attributes}".strip()}
    )
    assert_error(response, 400, 110, message)


@pytest.mark.parametrize(
    "value",
    [
        b'Hawk id="' + b"a" * 20_000 + b'", ts="1", nonce="n", mac="m"',
        'Hawk id="é", ts="1", nonce="n", mac="m"'.encode(),
        b'Hawk id="\xff\xfe", ts="1", nonce="n", mac="m"',
        b"Hawk \x01\x02\x03",
    ],
    ids=["huge", "utf8", "latin1-garbage", "control"],
)
async def test_hostile_headers_are_400(harness: Harness, value: bytes) -> None:
    response = await harness.client.http.delete(
        "/registration", headers=[(b"Authorization", value)]
    )
    assert_error(response, 400, 110, "Bad header format")


# -- payload hash (D15) ----------------------------------------------------------------------


EVENT = {"event": "loop", "action": "open", "label": "café ☕"}


@pytest.fixture
def analytics(harness: Harness) -> Harness:
    configure(harness, ga=GaSettings(activated=True, id="UA-1"))
    return harness


async def test_matching_payload_hash_is_accepted(analytics: Harness) -> None:
    session = await analytics.client.register()
    response = await analytics.client.post("/event", json=EVENT, hawk=session)
    assert response.status_code == 204


async def test_payload_without_hash_is_accepted(analytics: Harness) -> None:
    session = await analytics.client.register()
    sender = mohawk.Sender(
        session.credentials,
        BASE + "/event",
        "POST",
        always_hash_content=False,
        _timestamp=int(analytics.clock.now()),
    )
    assert "hash=" not in sender.request_header
    response = await analytics.client.http.post(
        "/event", json=EVENT, headers={"Authorization": sender.request_header}
    )
    assert response.status_code == 204, response.text


async def test_tampered_body_is_401_bad_payload_hash(analytics: Harness) -> None:
    session = await analytics.client.register()
    client = analytics.client
    signed_body = json.dumps(EVENT).encode()
    header = client.hawk_header(session, BASE + "/event", "POST", signed_body, "application/json")
    response = await client.http.post(
        "/event",
        content=json.dumps({**EVENT, "label": "evil"}).encode(),
        headers={"Authorization": header, "Content-Type": "application/json"},
    )
    assert_error(response, 401, 110, "Bad payload hash")
    assert response.headers["www-authenticate"] == 'Hawk error="Bad payload hash"'


async def test_hash_covers_the_content_type(analytics: Harness) -> None:
    session = await analytics.client.register()
    client = analytics.client
    body = json.dumps(EVENT).encode()
    header = client.hawk_header(session, BASE + "/event", "POST", body, "text/plain")
    response = await client.http.post(
        "/event",
        content=body,
        headers={"Authorization": header, "Content-Type": "application/json; charset=utf-8"},
    )
    assert_error(response, 401, 110, "Bad payload hash")


def _firefox_pre_encoded(body: dict[str, str]) -> bytes:
    """What some Firefox builds hashed (client-usage.md §5 item 6): top-level strings
    UTF-8-encoded by the add-on, then encoded again by the request class."""
    doubled = {key: value.encode("utf-8").decode("latin-1") for key, value in body.items()}
    return json.dumps(doubled, ensure_ascii=False).encode("utf-8")


async def _send_mismatched_hash(harness: Harness) -> httpx.Response:
    session = await harness.client.register()
    client = harness.client
    sent = json.dumps(EVENT, ensure_ascii=False).encode("utf-8")
    hashed = _firefox_pre_encoded(EVENT)
    assert hashed != sent
    header = client.hawk_header(session, BASE + "/event", "POST", hashed, "application/json")
    return await client.http.post(
        "/event",
        content=sent,
        headers={"Authorization": header, "Content-Type": "application/json"},
    )


async def test_differently_encoded_hash_is_refused_when_checked(analytics: Harness) -> None:
    response = await _send_mismatched_hash(analytics)
    assert_error(response, 401, 110, "Bad payload hash")


async def test_differently_encoded_hash_is_accepted_when_not_checked(
    analytics: Harness,
) -> None:
    configure(analytics, hawk=HawkSettings(check_payload_hash=False))
    response = await _send_mismatched_hash(analytics)
    assert response.status_code == 204, response.text


async def test_mac_still_covers_the_hash_when_not_checked(analytics: Harness) -> None:
    configure(analytics, hawk=HawkSettings(check_payload_hash=False))
    session = await analytics.client.register()
    header = analytics.client.hawk_header(
        session, BASE + "/event", "POST", b"{}", "application/json"
    )
    tampered = header.replace('hash="', 'hash="A', 1)
    response = await analytics.client.http.post(
        "/event", json=EVENT, headers={"Authorization": tampered}
    )
    assert_error(response, 401, 110, "Bad mac")


# -- response signature, session lifetime, backend failure --------------------------------


async def test_server_authorization_verifies_with_the_client_credentials(
    harness: Harness, prefix: str
) -> None:
    harness.client.prefix = prefix
    session = await harness.client.register()
    url = BASE + prefix + "/registration?simplePushURL=http%3A%2F%2Fpush.example.com%2Fa"
    sender = mohawk.Sender(
        session.credentials,
        url,
        "POST",
        content=b"{}",
        content_type="application/json",
        _timestamp=int(harness.clock.now()),
    )
    response = await harness.client.http.post(
        url,
        content=b"{}",
        headers={"Authorization": sender.request_header, "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    sender.accept_response(
        response.headers["server-authorization"],
        content=response.content,
        content_type=response.headers["content-type"],
        accept_untrusted_content=True,
    )


async def test_server_authorization_is_sent_on_errors_after_verification(
    harness: Harness,
) -> None:
    session = await harness.client.register()
    response = await harness.client.delete("/session", hawk=session)
    assert_error(response, 403, 110)
    assert response.headers["server-authorization"].startswith('Hawk mac="')


async def test_creating_request_is_not_signed(harness: Harness) -> None:
    response = await harness.client.post("/registration", json={})
    assert "server-authorization" not in response.headers


async def test_authenticated_requests_keep_the_session_alive(harness: Harness) -> None:
    duration = harness.services.settings.hawk_session_duration
    active = await harness.client.register()
    idle = await harness.client.register()
    for _ in range(2):
        harness.clock.advance(duration - 10)
        response = await harness.client.delete("/registration", hawk=active)
        assert response.status_code == 204
    response = await harness.client.delete("/registration", hawk=idle)
    assert_error(response, 401, 110, "Unknown credentials")


async def test_session_expires_after_its_duration(harness: Harness) -> None:
    session = await harness.client.register()
    harness.clock.advance(harness.services.settings.hawk_session_duration)
    response = await harness.client.delete("/registration", hawk=session)
    assert_error(response, 401, 110, "Unknown credentials")


async def test_session_is_filed_under_the_hmac_of_its_id(harness: Harness) -> None:
    session = await harness.client.register()
    services = harness.services
    now = harness.clock.now()
    found = await services.storage.authenticate(
        hawk_id_hmac(services.settings, session.id),
        timestamp=int(now),
        nonce="probe",
        mac="probe",
        now=now,
        ttl=60,
        nonce_until=now + 60,
    )
    assert found is not None and found.hawk_key == session.key


async def test_storage_failure_during_lookup_is_503(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = await harness.client.register()

    async def failing(*args: Any, **kwargs: Any) -> None:
        raise BackendError(message="down")

    monkeypatch.setattr(harness.services.storage, "authenticate", failing)
    monkeypatch.setattr(harness.services.storage, "known_sessions", KnownSessions())
    response = await harness.client.delete("/registration", hawk=session)
    assert_error(response, 503, 201, "Service Unavailable")
    assert response.headers["retry-after"] == str(harness.services.settings.retry_after)


# -- policies used by the room routes (loop.auth) -------------------------------------------


def _request(harness: Harness, authorization: str | None) -> Request:
    """A bare request to ``GET /rooms/abc`` as a room route would receive it."""
    headers = [(b"host", b"localhost:5000")]
    if authorization is not None:
        headers.append((b"authorization", authorization.encode("latin-1")))
    state = SimpleNamespace(services=harness.services, max_body_size=100_000)
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/rooms/abc",
        "raw_path": b"/rooms/abc",
        "query_string": b"",
        "headers": headers,
        "app": SimpleNamespace(state=state),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    return Request(scope, receive)


async def test_room_caller_without_header_is_anonymous(harness: Harness) -> None:
    assert await auth.room_caller(_request(harness, None)) == auth.Anonymous()


@pytest.mark.parametrize("credentials", [b"tok-123", b"tok-123:"], ids=["bare", "colon"])
async def test_room_caller_decodes_basic_tokens(harness: Harness, credentials: bytes) -> None:
    header = "Basic " + base64.b64encode(credentials).decode()
    caller = await auth.room_caller(_request(harness, header))
    expected = auth.participant_token_id(harness.services.settings, "tok-123")
    assert caller == auth.ParticipantToken(expected)


@pytest.mark.parametrize("header", ["Basic", "Basic !!!", "Basic " + "Og=="])
async def test_room_caller_refuses_ill_formed_basic(harness: Harness, header: str) -> None:
    with pytest.raises(LoopError) as caught:
        await auth.room_caller(_request(harness, header))
    assert (caught.value.status, caught.value.errno, caught.value.error) == (
        401,
        110,
        "Unauthorized",
    )
    assert caught.value.headers == {"WWW-Authenticate": "Basic"}


async def test_room_caller_refuses_other_schemes(harness: Harness) -> None:
    with pytest.raises(LoopError) as caught:
        await auth.room_caller(_request(harness, "Bearer abc"))
    assert (caught.value.status, caught.value.error) == (401, "Unsupported")
    assert caught.value.headers == {"WWW-Authenticate": 'Basic,Hawk error="Unsupported"'}


async def test_room_caller_verifies_hawk_once_per_request(harness: Harness) -> None:
    session = await harness.client.register()
    header = harness.client.hawk_header(session, BASE + "/rooms/abc", "GET")
    request = _request(harness, header)
    caller = await auth.room_caller(request)
    assert isinstance(caller, auth.HawkCaller) and caller.hawk_id == session.id
    assert await auth.require_hawk(request) is caller
    assert request.scope[SERVER_AUTHORIZATION_KEY].startswith('Hawk mac="')
