"""The offline media provider (``media.provider = "fake"``, the original's ``fakeTokBox``).

It never does I/O, so development servers and the HTTP test suite run without a TokBox
account. Its ids keep the *shapes* of real OpenTok ids (``loop-api.md`` §8.2), because
clients and tests look at them:

* session ids are ``"<n>_" + base64url("1~4468744~~<n>~<random>~~")``, i.e. the
  ``1_MX40NDY4NzQ0fn4…`` form the OpenTok SDK itself parses (the API key is one of the
  ``~``-separated fields);
* tokens are OpenTok "T1" tokens, ``"T1==" + base64("partner_id=4468744&sig=<hex>:<data>")``
  where ``<data>`` is the url-encoded ``session_id``, ``create_time``, ``expire_time``,
  ``role``, ``nonce`` and ``connection_data``, signed (HMAC-SHA1) with the public
  ``FAKE_API_SECRET``. :func:`decode_token` reads them back, so tests can assert who a
  token was minted for instead of only checking that it is non-empty. The same function
  reads real TokBox tokens, which use the identical layout.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import itertools
import secrets
from urllib.parse import parse_qs, urlencode

from loop.clock import Clock, SystemClock
from loop.config import Settings
from loop.media import MediaError, MediaProvider, MediaSession, Role

FAKE_API_KEY = "4468744"
"""The original fakeTokBox's API key, kept so existing clients and tests recognise it."""
FAKE_API_SECRET = "fake-tokbox-secret"
"""Not a secret: it only lets tests check that a fake token's signature is well formed."""
TOKEN_SENTINEL = "T1=="


@dataclasses.dataclass(frozen=True, slots=True)
class DecodedToken:
    """The fields of an OpenTok "T1" token (fake or real)."""

    partner_id: str
    sig: str
    signed_string: str
    """The exact url-encoded string the signature covers."""
    session_id: str
    role: str
    create_time: int
    expire_time: int
    nonce: str
    connection_data: str | None

    def signature_valid(self, api_secret: str) -> bool:
        """Whether ``sig`` is HMAC-SHA1(api_secret, signed_string), as OpenTok checks it."""
        return hmac.compare_digest(self.sig, sign(self.signed_string, api_secret))


def sign(data_string: str, api_secret: str) -> str:
    """OpenTok's token signature: lower-case hex HMAC-SHA1 of the url-encoded fields."""
    return hmac.new(api_secret.encode(), data_string.encode(), hashlib.sha1).hexdigest()


def decode_token(token: str) -> DecodedToken:
    """Parse a ``T1==`` token; raises ValueError when it is not one."""
    if not token.startswith(TOKEN_SENTINEL):
        raise ValueError("not an OpenTok T1 token")
    try:
        raw = base64.b64decode(token[len(TOKEN_SENTINEL) :], validate=True).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError("token payload is not base64 UTF-8") from exc
    header, sep, signed_string = raw.partition(":")
    if not sep:
        raise ValueError("token payload has no ':' separator")
    head = _single_values(header)
    body = _single_values(signed_string)
    try:
        return DecodedToken(
            partner_id=head["partner_id"],
            sig=head["sig"],
            signed_string=signed_string,
            session_id=body["session_id"],
            role=body["role"],
            create_time=int(body["create_time"]),
            expire_time=int(body["expire_time"]),
            nonce=body["nonce"],
            connection_data=body.get("connection_data"),
        )
    except KeyError as exc:
        raise ValueError(f"token lacks the field {exc.args[0]}") from None


def decode_session_id(session_id: str) -> list[str]:
    """The ``~``-separated fields of an OpenTok-style session id (raises ValueError)."""
    _, sep, encoded = session_id.partition("_")
    if not sep or not encoded:
        raise ValueError("session id has no '<n>_' prefix")
    padded = encoded + "=" * (-len(encoded) % 4)
    try:
        decoded = base64.urlsafe_b64decode(padded.encode()).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError("session id is not base64url") from exc
    return decoded.split("~")


def _single_values(query: str) -> dict[str, str]:
    parsed = parse_qs(query, keep_blank_values=True)
    return {key: values[-1] for key, values in parsed.items()}


class FakeProvider(MediaProvider):
    """Mints OpenTok-shaped ids locally; every channel shares the one fake API key."""

    name = "fake"

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._counter = itertools.count(1)

    def api_key(self, channel: str) -> str:
        return FAKE_API_KEY

    async def create_session(self, channel: str) -> MediaSession:
        n = next(self._counter)
        # The random part keeps ids unique across restarts: rooms outlive the process.
        fields = f"1~{FAKE_API_KEY}~~{n}~{secrets.token_hex(12)}~~"
        encoded = base64.urlsafe_b64encode(fields.encode()).decode().rstrip("=")
        return MediaSession(session_id=f"{n}_{encoded}", api_key=FAKE_API_KEY)

    def mint_token(
        self,
        session: MediaSession,
        *,
        role: Role,
        expires_at: int,
        data: str | None = None,
        room: str | None = None,
        participant: str | None = None,
    ) -> str:
        if session.api_key != FAKE_API_KEY:
            raise MediaError(f"session {session.session_id!r} was not made by the fake provider")
        params: dict[str, str | int] = {
            "session_id": session.session_id,
            "create_time": int(self._clock.now()),
            "expire_time": int(expires_at),
            "role": role,
            "nonce": secrets.randbelow(1_000_000),
        }
        if data:
            params["connection_data"] = data
        data_string = urlencode(params)
        signature = sign(data_string, FAKE_API_SECRET)
        payload = f"partner_id={FAKE_API_KEY}&sig={signature}:{data_string}"
        return TOKEN_SENTINEL + base64.b64encode(payload.encode()).decode()

    async def ping(self) -> str | None:
        return None


def from_settings(settings: Settings, clock: Clock) -> FakeProvider:
    """``media.fake_url`` is ignored: the original only fetched it to simulate latency."""
    return FakeProvider(clock=clock)
