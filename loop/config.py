"""One validated, typed configuration object.

Values come from, in increasing order of precedence: the defaults below (the original
server's, ``loop-api.md`` §8.2, in snake_case), a TOML file, and ``LOOP_*`` environment
variables (``LOOP_ROOMS__PARTICIPANT_TTL=300``: upper snake case, ``__`` between levels).
Every value is cast to its declared type at start-up; any error names the offending key,
so a typo stops the server instead of silently running with a default.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tomllib
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from loop.browserid import KeyFormatError, public_key_from_json

ENV_PREFIX = "LOOP_"


class ConfigError(ValueError):
    """A configuration value is missing, unknown or of the wrong type."""


class Secret(str):
    """A string that keeps its value out of logs and tracebacks."""

    def __repr__(self) -> str:
        return "Secret('**********')" if self else "Secret('')"


@dataclasses.dataclass(frozen=True, slots=True)
class StorageSettings:
    url: str = ""
    """``sqlite:///path/loop.db``, ``sqlite://:memory:`` or ``redis://host:port/db``.
    Empty means ``sqlite:///<data_dir>/loop.db``."""
    expiry_check_interval: float = 1.0
    """Seconds between two sweeps for expired participants (owner notification)."""
    timeout: float = 2.0
    """Seconds any wait on the storage may last (Redis: a free pooled connection, the
    command and its reply, a pub/sub confirmation; SQLite: another process's write lock).
    Past it the request answers 503 errno 201 with ``Retry-After``."""


@dataclasses.dataclass(frozen=True, slots=True)
class HawkSettings:
    check_payload_hash: bool = True
    timestamp_skew: int = 60
    check_host: str = "request"
    """Which host and port a Hawk MAC is checked against: ``"request"``, the ``Host``
    header as received; ``"public"``, ``public_server_address`` (behind a proxy that
    rewrites ``Host``, clients sign the public address)."""


HOST_PORT = re.compile(
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]+)(?::(?P<port>[0-9]{1,5}))?"
)
"""``host[:port]`` as a ``Host`` header or ``public_server_address`` gives it (an IPv6
literal in brackets)."""


@dataclasses.dataclass(frozen=True, slots=True)
class RoomsSettings:
    default_ttl: int = 1344
    max_ttl: int = 1344
    extend_ttl: int = 1344
    participant_ttl: float = 300
    deleted_ttl: int = 1620
    max_size: int = 5
    max_room_name_size: int = 100
    max_room_owner_size: int = 255
    token_size: int = 8
    web_app_url: str = ""
    """Room links handed out; empty means ``<protocol>://<public_server_address>/{token}``,
    the room page this server serves itself (see ``Settings.__post_init__``)."""
    hkdf_salt: Secret = Secret("")


@dataclasses.dataclass(frozen=True, slots=True)
class TimersSettings:
    supervisory_duration: float = 10
    ringing_duration: float = 30
    connection_duration: float = 10


@dataclasses.dataclass(frozen=True, slots=True)
class CallsSettings:
    max_subject_size: int = 124


@dataclasses.dataclass(frozen=True, slots=True)
class CallUrlsSettings:
    token_size: int = 8
    timeout: int = 720
    max_timeout: int = 720
    web_app_url: str = "http://localhost:3000/c/{token}"
    rate_limit: int = 60
    rate_limit_period: int = 60


@dataclasses.dataclass(frozen=True, slots=True)
class MediaSettings:
    provider: str = "webrtc"
    """``webrtc`` (built in, default: browsers connect to each other, the server relays their
    signalling, decisions D18), ``fake`` (offline, OpenTok-shaped ids) or ``tokbox``
    (OpenTok / Vonage Video)."""
    fake_url: str = "https://call.stage.mozaws.net/"


@dataclasses.dataclass(frozen=True, slots=True)
class TokBoxSettings:
    api_url: str = "https://api.opentok.com"
    credentials: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)
    """``{channel: {"api_key", "api_secret"[, "api_url"]}}``; must contain ``default``."""
    token_duration: int = 86400
    retry_on_error: int = 3
    timeout: int = 2000
    """Milliseconds."""


@dataclasses.dataclass(frozen=True, slots=True)
class WebRTCSettings:
    """The built-in ``webrtc`` provider: ICE servers handed to members and the signalling
    socket's limits (docs/signalling.md)."""

    stun_urls: list[str] = dataclasses.field(default_factory=list)
    """``stun:host[:port]`` URLs; empty: no STUN server is handed out."""
    turn_urls: list[str] = dataclasses.field(default_factory=list)
    """``turn:``/``turns:`` URLs of a TURN server checking ``turn_secret`` (coturn's
    ``use-auth-secret``); empty: no relay, so peers behind strict NATs cannot connect."""
    turn_secret: Secret = Secret("")
    """coturn's ``static-auth-secret``: TURN credentials are derived from it per join."""
    turn_ttl: int = 86400
    """Seconds the TURN credentials handed out with a join stay valid."""
    token_secret: Secret = Secret("")
    """Signs session tokens; generated on first start and kept by the storage."""
    hello_timeout: float = 10.0
    """Seconds a new socket has to send its ``hello``."""
    max_message_size: int = 65536
    """Bytes; a larger message closes the socket (4413)."""
    rate_limit: int = 200
    """Messages a socket may send per ``rate_period`` seconds; more closes it (4429)."""
    rate_period: float = 10.0
    membership_check_interval: float = 1.0
    """Seconds between checks that connected members are still live participants (how a
    participant's expiry, or its room's deletion with the account, closes its socket)."""
    member_ttl: float = 60.0
    """Seconds a member stays listed by the storage unless its process renews it (a member
    of a process that died vanishes after this)."""


@dataclasses.dataclass(frozen=True, slots=True)
class FxaOAuthSettings:
    activated: bool = False
    client_id: str = ""
    client_secret: Secret = Secret("")
    redirect_uri: str = "urn:ietf:wg:oauth:2.0:fx:webchannel"
    profile_uri: str = "https://profile.firefox.com/v1"
    content_uri: str = "https://accounts.firefox.com"
    oauth_uri: str = "https://oauth.accounts.firefox.com/v1"
    scope: str = "profile"


@dataclasses.dataclass(frozen=True, slots=True)
class BrowserIDSettings:
    """Issuers whose certificates this server verifies itself (msisdn-and-auth.md §3.1,
    decisions D20); assertions from other issuers go to the remote ``fxa_verifier``."""

    trusted_issuers: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    """``{issuer: {"public_key": <key object>}}``, or ``{issuer: {}}`` to fetch the keys
    from ``https://<issuer>/.well-known/browserid`` (``{"well_known_url": ...}`` to fetch
    from another address, e.g. a gateway mounted under a prefix)."""
    well_known_ttl: int = 3600
    """Seconds fetched keys are cached."""
    timeout: float = 5.0
    """Seconds an outgoing verification request (remote verifier, key fetch, FxA OAuth
    and profile servers) may take."""
    leeway: float = 0.0
    """Seconds of clock skew tolerated on certificate and assertion dates."""


@dataclasses.dataclass(frozen=True, slots=True)
class MsisdnMountSettings:
    """The MSISDN gateway served inside this process (decisions D20)."""

    mount: bool = False
    """Off by default: the gateway refuses to start without an SMS provider."""
    prefix: str = "/msisdn"
    config: str = ""
    """The gateway's TOML file (its ``MSISDN_*`` variables apply too); empty: defaults."""
    trust: bool = True
    """Verify the mounted gateway's certificates locally with its own key."""


@dataclasses.dataclass(frozen=True, slots=True)
class GaSettings:
    activated: bool = False
    id: str = ""
    url: str = "https://www.google-analytics.com/collect"
    """Where ``POST /event`` sends Measurement Protocol hits."""


@dataclasses.dataclass(frozen=True, slots=True)
class I18nSettings:
    default_lang: str = "en-US"


@dataclasses.dataclass(frozen=True, slots=True)
class PushSettings:
    timeout: float = 2.0
    """Seconds a single push request may take before it is abandoned."""
    max_concurrency: int = 64
    """Push requests in flight at once (per process); further deliveries wait their turn."""
    max_pending: int = 10_000
    """Deliveries queued or in flight beyond which new ones are dropped (and counted), so a
    dead push service cannot make the queue grow without bound."""
    close_grace: float = 1.0
    """Seconds shutdown waits for deliveries in flight before cancelling them."""
    retries: int = 2
    """Extra attempts after a push service answered 5xx or 429, or refused the connection."""
    retry_delay: float = 0.5
    """Seconds before the first retry; doubled for each further one (with jitter)."""
    max_retry_delay: float = 10.0
    """Longest wait before a retry; a ``Retry-After`` asking for longer ends the delivery."""
    vapid_private_key: Secret = Secret("")
    """The VAPID (RFC 8292) signing key for Web Push: base64url of the raw 32-byte P-256
    private value, base64url DER, or PEM. Empty: generated on first start and kept by the
    storage, so every process sharing it signs with the same key."""
    vapid_subject: str = "mailto:admin@localhost"
    """The VAPID ``sub`` claim: how a push service's operator reaches you (mailto: or https:)."""
    ttl: int = 86400
    """Seconds a push service keeps an undelivered Web Push message (the ``TTL`` header)."""


@dataclasses.dataclass(frozen=True, slots=True)
class MetricsSettings:
    statsd_url: str = ""
    """``udp://host[:port]`` of a (Dog)StatsD collector; empty disables metrics."""


@dataclasses.dataclass(frozen=True, slots=True)
class LoggingSettings:
    level: str = "INFO"
    format: str = "json"
    """``json`` (MozLog) or ``text``."""


@dataclasses.dataclass(frozen=True, slots=True)
class ServerSettings:
    """How the HTTP server treats slow, idle and surplus connections, and how it stops
    (``loop.web.server``). Shared by ``loop-server`` and ``loop-msisdn``."""

    header_timeout: float = 10.0
    """Seconds a client has to send a request's headers, counted from connecting (first
    request) or from the request's first byte; then 408 and the connection is closed."""
    body_timeout: float = 30.0
    """Seconds a request body may pause between two pieces; then 408 and closed."""
    keep_alive_timeout: int = 5
    """Seconds an idle keep-alive connection stays open."""
    max_connections: int = 0
    """Open connections (websockets included) at most; a new one past it closes the
    connection waiting longest without a request in progress. 0: the open-file limit
    (``ulimit -n``) less ``reserved_files``."""
    reserved_files: int = 128
    """Open files kept for everything but client connections (storage, logs, push and
    other outgoing requests) when ``max_connections`` is derived."""
    drain_timeout: float = 10.0
    """Seconds SIGTERM (or SIGINT) waits for requests in progress once it stopped accepting
    connections (websockets are told to reconnect at once, close code 1012); what remains
    is then cut and the process exits 0."""


def server_checks(server: ServerSettings) -> list[tuple[bool, str]]:
    """The ``[server]`` checks, for both services' validators."""
    return [
        (server.header_timeout > 0, "server.header_timeout: must be positive"),
        (server.body_timeout > 0, "server.body_timeout: must be positive"),
        (server.keep_alive_timeout > 0, "server.keep_alive_timeout: must be positive"),
        (server.max_connections >= 0, "server.max_connections: must not be negative"),
        (server.reserved_files >= 0, "server.reserved_files: must not be negative"),
        (server.drain_timeout >= 0, "server.drain_timeout: must not be negative"),
    ]


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 5000
    accept_backlog: int = 511
    public_server_address: str = "localhost:5000"
    protocol: str = "http"
    data_dir: str = "loop-data"
    user_mac_secret: Secret = Secret("")
    user_mac_algorithm: str = "sha256"
    hawk_id_secret: Secret = Secret("")
    hawk_session_duration: int = 2_592_000
    call_duration: int = 60
    progress_url_endpoint: str = "/websocket"
    allowed_origins: list[str] = dataclasses.field(
        default_factory=lambda: ["http://localhost:3000"]
    )
    retry_after: int = 30
    max_body_size: int = 100_000
    fxa_audiences: list[str] = dataclasses.field(default_factory=list)
    fxa_verifier: str = "https://verifier.accounts.firefox.com/v2"
    fxa_trusted_issuers: list[str] = dataclasses.field(
        default_factory=lambda: ["api.accounts.firefox.com"]
    )
    push_server_uris: list[str] = dataclasses.field(
        default_factory=lambda: ["wss://push.services.mozilla.com/"]
    )
    heartbeat_timeout: int = 2000
    """Milliseconds."""
    display_version: bool = True
    storage: StorageSettings = dataclasses.field(default_factory=StorageSettings)
    hawk: HawkSettings = dataclasses.field(default_factory=HawkSettings)
    rooms: RoomsSettings = dataclasses.field(default_factory=RoomsSettings)
    timers: TimersSettings = dataclasses.field(default_factory=TimersSettings)
    calls: CallsSettings = dataclasses.field(default_factory=CallsSettings)
    call_urls: CallUrlsSettings = dataclasses.field(default_factory=CallUrlsSettings)
    media: MediaSettings = dataclasses.field(default_factory=MediaSettings)
    tokbox: TokBoxSettings = dataclasses.field(default_factory=TokBoxSettings)
    webrtc: WebRTCSettings = dataclasses.field(default_factory=WebRTCSettings)
    fxa_oauth: FxaOAuthSettings = dataclasses.field(default_factory=FxaOAuthSettings)
    browserid: BrowserIDSettings = dataclasses.field(default_factory=BrowserIDSettings)
    msisdn: MsisdnMountSettings = dataclasses.field(default_factory=MsisdnMountSettings)
    ga: GaSettings = dataclasses.field(default_factory=GaSettings)
    i18n: I18nSettings = dataclasses.field(default_factory=I18nSettings)
    push: PushSettings = dataclasses.field(default_factory=PushSettings)
    logging: LoggingSettings = dataclasses.field(default_factory=LoggingSettings)
    metrics: MetricsSettings = dataclasses.field(default_factory=MetricsSettings)
    server: ServerSettings = dataclasses.field(default_factory=ServerSettings)

    def __post_init__(self) -> None:
        """Room links default to this server's own room page, so the public address needs
        setting only once."""
        if not self.rooms.web_app_url:
            rooms = dataclasses.replace(self.rooms, web_app_url=f"{self.server_origin}/{{token}}")
            object.__setattr__(self, "rooms", rooms)

    @property
    def storage_url(self) -> str:
        return self.storage.url or f"sqlite:///{Path(self.data_dir) / 'loop.db'}"

    @property
    def server_origin(self) -> str:
        return f"{self.protocol}://{self.public_server_address}"

    def with_secrets(self, secrets: Mapping[str, str]) -> Settings:
        """A copy with the generated secrets filled in where none was configured."""
        rooms = dataclasses.replace(
            self.rooms, hkdf_salt=Secret(self.rooms.hkdf_salt or secrets["hkdf_salt"])
        )
        return dataclasses.replace(
            self,
            user_mac_secret=Secret(self.user_mac_secret or secrets["user_mac_secret"]),
            hawk_id_secret=Secret(self.hawk_id_secret or secrets["hawk_id_secret"]),
            rooms=rooms,
            push=dataclasses.replace(
                self.push,
                vapid_private_key=Secret(
                    self.push.vapid_private_key or secrets.get(VAPID_SECRET, "")
                ),
            ),
            webrtc=dataclasses.replace(
                self.webrtc,
                token_secret=Secret(self.webrtc.token_secret or secrets.get(WEBRTC_SECRET, "")),
            ),
        )


VAPID_SECRET = "vapid_private_key"
"""Name under which the storage keeps the generated VAPID key (see ``push.vapid_private_key``)."""

WEBRTC_SECRET = "webrtc_token_secret"
"""Name under which the storage keeps the generated ``webrtc.token_secret``."""

GENERATED_SECRETS = {
    "user_mac_secret": 16,
    "hawk_id_secret": 16,
    "hkdf_salt": 16,
    WEBRTC_SECRET: 32,
}
"""Secrets generated (bytes of randomness, hex-encoded) on first start when not configured."""


def load_settings(
    path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Defaults < TOML file < ``LOOP_*`` environment; raises ConfigError naming the key."""
    settings = build(Settings, load_raw(path, environ, ENV_PREFIX))
    validate(settings)
    return settings


def load_raw(
    path: str | os.PathLike[str] | None, environ: Mapping[str, str] | None, prefix: str
) -> dict[str, Any]:
    """The TOML file's tables overlaid with the ``<prefix>*`` environment variables (the
    Loop server's and the MSISDN gateway's settings load the same way)."""
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            with open(path, "rb") as fp:
                raw = tomllib.load(fp)
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    _merge(raw, _from_environ(os.environ if environ is None else environ, prefix))
    return raw


def validate(settings: Settings) -> None:
    """Cross-field checks the types alone cannot express."""
    checks: list[tuple[bool, str]] = [
        (settings.protocol in ("http", "https"), "protocol: must be 'http' or 'https'"),
        (
            settings.hawk.check_host in ("request", "public"),
            "hawk.check_host: must be 'request' or 'public'",
        ),
        (
            settings.hawk.check_host != "public"
            or HOST_PORT.fullmatch(settings.public_server_address) is not None,
            "public_server_address: must be host[:port] when hawk.check_host is 'public'",
        ),
        (0 < settings.port < 65536, "port: must be between 1 and 65535"),
        (
            settings.media.provider in ("webrtc", "fake", "tokbox"),
            "media.provider: must be 'webrtc', 'fake' or 'tokbox'",
        ),
        (
            settings.media.provider != "tokbox" or "default" in settings.tokbox.credentials,
            "tokbox.credentials: must contain a 'default' channel when media.provider is 'tokbox'",
        ),
        (settings.rooms.max_size >= 2, "rooms.max_size: must be at least 2"),
        (settings.rooms.participant_ttl > 0, "rooms.participant_ttl: must be positive"),
        (settings.rooms.token_size > 0, "rooms.token_size: must be positive"),
        (settings.max_body_size > 0, "max_body_size: must be positive"),
        (
            0 < settings.storage.timeout <= 60,
            "storage.timeout: must be positive and at most 60 seconds",
        ),
        (
            settings.hawk_session_duration >= settings.call_urls.max_timeout * 3600,
            "hawk_session_duration: must be at least call_urls.max_timeout hours",
        ),
        (
            settings.call_duration
            >= settings.timers.supervisory_duration
            + settings.timers.ringing_duration
            + settings.timers.connection_duration,
            "call_duration: must be at least the sum of the timers",
        ),
        (
            not settings.fxa_oauth.activated or bool(settings.fxa_oauth.client_id),
            "fxa_oauth.client_id: required when fxa_oauth.activated is true",
        ),
        (
            settings.logging.format in ("json", "text"),
            "logging.format: must be 'json' or 'text'",
        ),
        (
            settings.logging.level.upper() in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"),
            "logging.level: must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL",
        ),
        (settings.push.timeout > 0, "push.timeout: must be positive"),
        (settings.push.max_concurrency > 0, "push.max_concurrency: must be positive"),
        (settings.push.max_pending > 0, "push.max_pending: must be positive"),
        (settings.push.close_grace >= 0, "push.close_grace: must not be negative"),
        (settings.push.retries >= 0, "push.retries: must not be negative"),
        (settings.push.retry_delay >= 0, "push.retry_delay: must not be negative"),
        (settings.push.max_retry_delay >= 0, "push.max_retry_delay: must not be negative"),
        (settings.push.ttl >= 0, "push.ttl: must not be negative"),
        (
            settings.push.vapid_subject.startswith(("mailto:", "https://")),
            "push.vapid_subject: must be a mailto: or https: URI",
        ),
        (
            not settings.metrics.statsd_url or settings.metrics.statsd_url.startswith("udp://"),
            "metrics.statsd_url: must be udp://host[:port] or empty",
        ),
    ]
    checks += _browserid_checks(settings.browserid)
    checks += _webrtc_checks(settings.webrtc)
    checks += server_checks(settings.server)
    prefix = settings.msisdn.prefix
    checks.append(
        (
            prefix.startswith("/") and not prefix.endswith("/"),
            "msisdn.prefix: must start with '/' and not end with '/'",
        )
    )
    for name, creds in settings.tokbox.credentials.items():
        missing = {"api_key", "api_secret"} - creds.keys()
        checks.append((not missing, f"tokbox.credentials.{name}: missing {sorted(missing)}"))
    for ok, message in checks:
        if not ok:
            raise ConfigError(message)


def _browserid_checks(browserid: BrowserIDSettings) -> list[tuple[bool, str]]:
    """Trusted issuers' keys are parsed at start-up, so a bad key stops the server."""
    checks = [
        (browserid.timeout > 0, "browserid.timeout: must be positive"),
        (browserid.leeway >= 0, "browserid.leeway: must not be negative"),
    ]
    for issuer, entry in browserid.trusted_issuers.items():
        key = f"browserid.trusted_issuers.{issuer}"
        if not isinstance(entry, dict) or set(entry) - {"public_key", "well_known_url"}:
            checks.append((False, f"{key}: expected a table with public_key or well_known_url"))
            continue
        try:
            if "public_key" in entry:
                public_key_from_json(_json_value(entry["public_key"]))
        except (KeyFormatError, ValueError) as exc:
            checks.append((False, f"{key}.public_key: {exc}"))
    return checks


def _webrtc_checks(webrtc: WebRTCSettings) -> list[tuple[bool, str]]:
    """ICE server URLs are handed to browsers as they are, so a typo is caught here."""
    checks = [
        (
            all(url.startswith(("stun:", "stuns:")) for url in webrtc.stun_urls),
            "webrtc.stun_urls: each must start with stun: or stuns:",
        ),
        (
            all(url.startswith(("turn:", "turns:")) for url in webrtc.turn_urls),
            "webrtc.turn_urls: each must start with turn: or turns:",
        ),
        (
            not webrtc.turn_urls or bool(webrtc.turn_secret),
            "webrtc.turn_secret: required when webrtc.turn_urls is set",
        ),
        (webrtc.turn_ttl > 0, "webrtc.turn_ttl: must be positive"),
        (webrtc.hello_timeout > 0, "webrtc.hello_timeout: must be positive"),
        (webrtc.max_message_size >= 1024, "webrtc.max_message_size: must be at least 1024"),
        (webrtc.rate_limit > 0, "webrtc.rate_limit: must be positive"),
        (webrtc.rate_period > 0, "webrtc.rate_period: must be positive"),
        (
            webrtc.membership_check_interval > 0,
            "webrtc.membership_check_interval: must be positive",
        ),
        (
            webrtc.member_ttl > 3 * webrtc.membership_check_interval,
            "webrtc.member_ttl: must exceed three webrtc.membership_check_interval",
        ),
    ]
    return checks


def _json_value(value: Any) -> Any:
    """A key object given inline or as a JSON string (environment variables)."""
    return json.loads(value) if isinstance(value, str) else value


def _from_environ(environ: Mapping[str, str], prefix: str) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith(prefix) or name == prefix + "CONFIG":
            continue
        path = name[len(prefix) :].lower().split("__")
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{name}: conflicts with another {prefix} variable")
        node[path[-1]] = value
    return tree


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> None:
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


_T = typing.TypeVar("_T")


def build(cls: type[_T], raw: Mapping[str, Any], prefix: str = "") -> _T:
    """``cls`` (a settings dataclass) from raw values, each cast to its declared type."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{prefix.rstrip('.')}: must be a table")
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(raw) - fields)
    if unknown:
        raise ConfigError(f"{prefix}{unknown[0]}: unknown setting")
    values: dict[str, Any] = {}
    for name, value in raw.items():
        hint = hints[name]
        key = f"{prefix}{name}"
        if dataclasses.is_dataclass(hint):
            values[name] = build(hint, value, prefix=f"{key}.")  # type: ignore[arg-type]
        else:
            values[name] = _cast(hint, value, key)
    return cls(**values)


def _cast(hint: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(hint)
    try:
        if hint is bool:
            return _cast_bool(value)
        if hint in (int, float):
            if isinstance(value, bool):
                raise ValueError
            number = hint(value.strip() if isinstance(value, str) else value)
            if hint is int and isinstance(value, float) and number != value:
                raise ValueError
            return number
        if hint in (str, Secret):
            if not isinstance(value, str):
                raise ValueError
            return hint(value)
        if origin is list:
            if isinstance(value, str):
                value = _parse_list(value)
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError
            return list(value)
        if origin is dict:
            if isinstance(value, str):
                value = json.loads(value)
            if not isinstance(value, dict):
                raise ValueError
            return {str(k): v for k, v in value.items()}
    except (ValueError, TypeError, json.JSONDecodeError):
        pass
    raise ConfigError(f"{key}: expected {_describe(hint)}, got {value!r}")


def _cast_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError


def _parse_list(value: str) -> Any:
    value = value.strip()
    if value.startswith("["):
        return json.loads(value)
    return [item.strip() for item in value.split(",") if item.strip()]


def _describe(hint: Any) -> str:
    if typing.get_origin(hint) is list:
        return "a list of strings"
    if typing.get_origin(hint) is dict:
        return "a table"
    return {bool: "a boolean", int: "an integer", float: "a number"}.get(hint, "a string")
