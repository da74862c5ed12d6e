"""The one Hawk implementation (loop-api.md §3.3, decisions D4, D15, §6).

Built from ``mohawk``'s primitives (header parser, normalised string, MACs) rather than its
``Receiver``, for two reasons: the session lookup is asynchronous and records the nonce in
the same storage round trip, and ``Receiver`` cannot verify a MAC that covers a payload
``hash`` while skipping the body check, which ``hawk.check_payload_hash = false`` needs
(some Firefox builds hash other bytes than they send, client-usage.md §5 item 6).

Order of checks: header syntax (400) → credentials (401 ``Unknown credentials``; a replay,
the same timestamp, nonce and MAC again, is caught by the same lookup: ``Invalid nonce``)
→ MAC (``Bad mac``) → payload hash (``Bad payload hash``) → timestamp (``Stale
timestamp``, with a ``tsm`` the client can verify to correct its clock). A request is
remembered (per credentials, timestamp and nonce, as the Hawk scheme has it, and MAC)
until its timestamp can no longer be accepted. The MAC is part of it because only the
lookup yields the key to check it: a forged request is filed under its own MAC and cannot
burn the genuine one's nonce, while a replayed header carries the very same MAC.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import re
from collections.abc import Awaitable, Callable

from mohawk.exc import HawkFail
from mohawk.util import (
    HAWK_HEADER_RE,
    MAX_LENGTH,
    allowable_header_keys,
    calculate_mac,
    calculate_ts_mac,
    parse_content_type,
    validate_header_attr,
)
from starlette.requests import Request

from loop import errors
from loop.config import HOST_PORT
from loop.crypto import constant_time_equals
from loop.services import SessionServices
from loop.sessions import hawk_id_hmac as hawk_id_hmac
from loop.storage import NonceReplayed, Session, SessionCheck
from loop.storage.checks import request_checks
from loop.storage.sessions import nonce_member
from loop.web.failures import SERVER_AUTHORIZATION_KEY
from loop.web.requests import read_body

SCHEME = "hawk"
ALGORITHM = "sha256"
REQUIRED_ATTRIBUTES = ("id", "ts", "nonce", "mac")

BAD_HEADER_FORMAT = "Bad header format"
MISSING_ATTRIBUTES = "Missing attributes"
INVALID_HEADER_SYNTAX = "Invalid header syntax"
UNKNOWN_CREDENTIALS = errors.UNKNOWN_CREDENTIALS
BAD_MAC = "Bad mac"
BAD_PAYLOAD_HASH = "Bad payload hash"
INVALID_NONCE = errors.INVALID_NONCE
STALE_TIMESTAMP = "Stale timestamp"
INVALID_HOST = "Invalid Host header"


@dataclasses.dataclass(frozen=True, slots=True)
class Verified:
    session: Session
    hawk_id: str


def split_scheme(authorization: str) -> tuple[str, str]:
    """``("hawk", 'id="…", …')``: the scheme lower-cased and the rest, stripped."""
    parts = authorization.split(None, 1)
    if not parts:
        return "", ""
    return parts[0].lower(), parts[1].strip() if len(parts) > 1 else ""


def missing_credentials() -> errors.LoopError:
    """No ``Authorization`` header, or another scheme where only Hawk is accepted."""
    return errors.unauthorized("Hawk")


async def verify(request: Request, services: SessionServices, attributes_text: str) -> Verified:
    """Verify a Hawk header (its part after the scheme) for this request.

    A session this process has seen is verified with its remembered key and no storage
    call: the rest (alive, still bound as remembered, nonce new, touched) is a
    :class:`~loop.storage.checks.SessionCheck` armed for the request, which rides on its
    first storage call (or is made alone before its answer), so a Hawk request costs one
    round trip, not two. Any other session is looked up: one storage call that records
    the request's timestamp, nonce *and MAC* (the key to check the MAC is only known after
    it), so a request with a wrong MAC cannot burn the nonce of the genuine one, and a
    replay (the same MAC) is refused.

    On success the response MAC is left in the scope for the middleware to send as
    ``Server-Authorization``. Raises :class:`~loop.errors.LoopError` otherwise; a storage
    failure propagates as ``BackendError`` (503).
    """
    settings = services.settings
    storage = services.storage
    slot = request_checks.get() if storage.carries_session_checks else None
    sessions: list[Session] = []
    remembered = False

    async def lookup(attributes: dict[str, str]) -> str:
        nonlocal remembered
        hawk_id = hawk_id_hmac(settings, attributes["id"])
        known = storage.known_sessions.get(hawk_id) if slot is not None else None
        if known is None:
            known = await _lookup(services, hawk_id, attributes)  # remembered by it
        else:
            remembered = True
        sessions.append(known)
        return known.hawk_key

    attributes = await verify_with(
        request,
        attributes_text,
        lookup=lookup,
        protocol=settings.protocol,
        public_address=(
            settings.public_server_address if settings.hawk.check_host == "public" else None
        ),
        timestamp_skew=settings.hawk.timestamp_skew,
        check_payload_hash=settings.hawk.check_payload_hash,
        now=services.clock.now,
    )
    if remembered and slot is not None:
        slot.check = _check(services, sessions[0], attributes)
    return Verified(sessions[0], attributes["id"])


def _check(
    services: SessionServices, session: Session, attributes: dict[str, str]
) -> SessionCheck:
    settings = services.settings
    timestamp = int(attributes["ts"])
    return SessionCheck(
        hawk_id_hmac=session.hawk_id_hmac,
        user_mac=session.user_mac,
        member=nonce_member(timestamp, attributes["nonce"], attributes["mac"]),
        nonce_until=nonce_until(timestamp, settings.hawk.timestamp_skew),
        now=services.clock.now(),
        ttl=settings.hawk_session_duration,
        alone=services.storage.check_session,
    )


KeyLookup = Callable[[dict[str, str]], Awaitable[str]]
"""Given the parsed header attributes, the Hawk key of ``attributes["id"]``; raises the
:class:`~loop.errors.LoopError` to answer (e.g. 401 ``Unknown credentials``) otherwise."""


async def verify_with(
    request: Request,
    attributes_text: str,
    *,
    lookup: KeyLookup,
    protocol: str,
    public_address: str | None = None,
    timestamp_skew: int,
    check_payload_hash: bool,
    now: Callable[[], float],
) -> dict[str, str]:
    """:func:`verify` for any credential store (the MSISDN gateway has its own, and no
    nonce cache): the same checks in the same order; returns the verified
    header attributes. The MAC covers ``public_address`` when given, else the ``Host``
    header."""
    attributes = parse(attributes_text)
    host, port, target = request_target(request, protocol, public_address)
    key = await lookup(attributes)
    credentials = {"id": attributes["id"], "key": key, "algorithm": ALGORITHM}
    signed = _Signed(
        credentials=credentials,
        timestamp=attributes["ts"],
        nonce=attributes["nonce"],
        method=request.method,
        name=target,
        host=host,
        port=port,
        ext=attributes.get("ext"),
        app=attributes.get("app"),
        dlg=attributes.get("dlg"),
    )
    mac = calculate_mac("header", signed, attributes.get("hash"))
    if not constant_time_equals(mac, attributes["mac"]):
        raise _failure(BAD_MAC)
    if "hash" in attributes and check_payload_hash:
        await _check_payload(request, attributes["hash"])
    _check_timestamp(attributes["ts"], int(now()), timestamp_skew, credentials)
    request.scope[SERVER_AUTHORIZATION_KEY] = _response_header(signed)
    return attributes


def nonce_until(timestamp: int, skew: int) -> int:
    """When a request signed at ``timestamp`` can no longer be accepted, on the server's
    clock: :func:`_check_timestamp` accepts it while ``int(now) <= timestamp + skew``. Its
    nonce is remembered until then, and no longer is needed."""
    return timestamp + skew + 1


def parse(attributes_text: str) -> dict[str, str]:
    """The header's attributes, or 400 errno 110 with the text the Hawk library gives
    (loop-api.md §3.3): ``Invalid header syntax`` for a bare ``Hawk``, ``Missing
    attributes`` for a well-formed header lacking (or leaving empty) a required one, and
    ``Bad header format`` for wrong parameters or a non-integer ``ts`` (decisions §6)."""
    if not attributes_text:
        raise _bad_header(INVALID_HEADER_SYNTAX)
    try:
        attributes = _parse_attributes(attributes_text)
    except (HawkFail, ValueError, UnicodeError):
        raise bad_header_format() from None
    if any(not attributes.get(name) for name in REQUIRED_ATTRIBUTES):
        raise _bad_header(MISSING_ATTRIBUTES)
    if not (attributes["ts"].isascii() and attributes["ts"].isdigit()):
        raise bad_header_format()
    return attributes


def _parse_attributes(text: str) -> dict[str, str]:
    """mohawk's parser (its grammar, key list and value check), minus the debug line it
    pretty-prints eagerly on every call, which showed up in profiles under load."""
    if len("Hawk " + text) > MAX_LENGTH:
        raise HawkFail("header too long")
    attributes: dict[str, str] = {}

    def take(match: re.Match[str]) -> str:
        key, value = match["key"], match["value"]
        if key not in allowable_header_keys or key in attributes:
            raise HawkFail(f"unknown or repeated key {key!r}")
        validate_header_attr(value, name=key)
        attributes[key] = value
        return ""

    if HAWK_HEADER_RE.sub(take, text) != "":
        raise HawkFail("unparsable Hawk header")
    return attributes


def payload_hash(body: bytes, content_type: str | None) -> str:
    """Hawk's payload hash (``hawk.1.payload``), as mohawk computes it, without its eager
    debug formatting of the whole body."""
    normalized = b"hawk.1.payload\n%s\n%s\n" % (
        parse_content_type(content_type).encode("utf-8"),
        body,
    )
    return base64.b64encode(hashlib.sha256(normalized).digest()).decode("ascii")


def bad_header_format() -> errors.LoopError:
    return _bad_header(BAD_HEADER_FORMAT)


def _bad_header(message: str) -> errors.LoopError:
    return errors.LoopError(400, errors.Errno.INVALID_AUTH_TOKEN, message)


def request_target(
    request: Request, protocol: str, public_address: str | None = None
) -> tuple[str, str, str]:
    """``(host, port, target)`` as the client signed them: its ``Host`` (port 80 unless
    given, 443 when TLS ends in front of us), or ``public_address`` when given (a proxy
    in front may rewrite ``Host``; its port, else 80 or 443 by protocol), and the request
    target exactly as sent (path with ``/v0`` when used, and query string)."""
    if public_address is None:
        match = HOST_PORT.fullmatch(request.headers.get("host", "").strip())
        if match is None:
            raise errors.LoopError(400, errors.Errno.INVALID_AUTH_TOKEN, INVALID_HOST)
        port = "443" if protocol == "https" else match["port"] or "80"
    else:
        match = HOST_PORT.fullmatch(public_address)
        if match is None:  # validated at start-up (loop.config)
            raise ValueError(f"public_server_address {public_address!r} is not host[:port]")
        port = match["port"] or ("443" if protocol == "https" else "80")
    scope = request.scope
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
    target = raw_path.split(b"?", 1)[0].decode("latin-1")
    query = scope.get("query_string", b"").decode("latin-1")
    if query:
        target += "?" + query
    host = match["host"].lower()
    if host.startswith("["):  # an IPv6 literal is signed without its brackets
        host = host[1:-1]
    return host, port, target


@dataclasses.dataclass(frozen=True, slots=True)
class _Signed:
    """What a Hawk MAC covers, in the shape ``mohawk.util.calculate_mac`` reads. Built
    directly: ``mohawk.base.Resource`` re-parses a URL and pretty-prints it into a debug
    log on every construction, which cost a tenth of the server's CPU under load."""

    credentials: dict[str, str]
    timestamp: str
    nonce: str
    method: str
    name: str
    host: str
    port: str
    ext: str | None
    app: str | None
    dlg: str | None


async def _lookup(services: SessionServices, hawk_id: str, attributes: dict[str, str]) -> Session:
    """One storage round trip: find the session, record the request (timestamp, nonce,
    MAC) until its timestamp can no longer be accepted, touch the session."""
    settings = services.settings
    timestamp = int(attributes["ts"])
    try:
        session = await services.storage.authenticate(
            hawk_id,
            timestamp=timestamp,
            nonce=attributes["nonce"],
            mac=attributes["mac"],
            now=services.clock.now(),
            ttl=settings.hawk_session_duration,
            nonce_until=nonce_until(timestamp, settings.hawk.timestamp_skew),
        )
    except NonceReplayed:
        raise _failure(INVALID_NONCE) from None
    if session is None:
        raise _failure(UNKNOWN_CREDENTIALS)
    return session


async def _check_payload(request: Request, their_hash: str) -> None:
    body = await read_body(request)
    ours = payload_hash(body, request.headers.get("content-type"))
    if not constant_time_equals(ours, their_hash):
        raise _failure(BAD_PAYLOAD_HASH)


def _check_timestamp(ts: str, now: int, skew: int, credentials: dict[str, str]) -> None:
    if abs(int(ts) - now) <= skew:
        return
    tsm = calculate_ts_mac(now, credentials).decode("ascii")
    raise errors.unauthorized(
        f'Hawk ts="{now}", tsm="{tsm}", error="{STALE_TIMESTAMP}"', STALE_TIMESTAMP
    )


def _response_header(signed: _Signed) -> str:
    """``Hawk mac="…"`` over the request's artifacts, without payload hash or ext (§3.3)."""
    mac = calculate_mac("response", dataclasses.replace(signed, ext=None), None)
    return f'Hawk mac="{mac.decode("ascii")}"'


def _failure(message: str) -> errors.LoopError:
    return errors.hawk_failure(message)
