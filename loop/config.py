"""One validated, typed configuration object.

Values come from, in increasing order of precedence: the defaults below (the original
server's, ``loop-api.md`` §8.2, in snake_case), a TOML file, and ``LOOP_*`` environment
variables (``LOOP_ROOMS__PARTICIPANT_TTL=300``: upper snake case, ``__`` between levels).
Every value is cast to its declared type at start-up; any error names the offending key,
so a typo stops the server instead of silently running with a default.
"""

from __future__ import annotations

import dataclasses
import ipaddress
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

SAMPLE_HEADER = """Sample configuration for loop-server, written by `loop-server --sample-config`
from the settings' declarations: every key is optional and shown with its default.

Any key can also be set from the environment: LOOP_ + upper snake case, "__" between
levels, e.g. LOOP_ROOMS__PARTICIPANT_TTL=300 or LOOP_STORAGE__URL=redis://localhost:6379/0.
Start with: loop-server --config loop.toml"""


class ConfigError(ValueError):
    """A configuration value is missing, unknown or of the wrong type."""


class Secret(str):
    """A string that keeps its value out of logs and tracebacks."""

    def __repr__(self) -> str:
        return "Secret('**********')" if self else "Secret('')"


@dataclasses.dataclass(frozen=True, slots=True)
class StorageSettings:
    url: str = ""
    """``sqlite:///path/loop.db``, ``sqlite://:memory:``, ``redis://host:port/db`` or,
    for a Redis Cluster, ``redis+cluster://host:port,host:port/`` (a few of its masters;
    ``rediss+cluster://`` for TLS). Empty means ``sqlite:///<data_dir>/loop.db``."""
    expiry_check_interval: float = 1.0
    """Seconds between two sweeps for expired participants (owner notification)."""
    timeout: float = 2.0
    """Seconds any wait on the storage may last (Redis: a free pooled connection, the
    command and its reply, a pub/sub confirmation; SQLite: another process's write lock).
    Past it the request answers 503 errno 201 with ``Retry-After``. At most 60."""
    secrets_check_interval: float = 10.0
    """Seconds between two checks that the storage still holds this process's secrets
    (re-seeding it if it lost them); Redis also checks on every new connection. While it
    holds others, requests answer 503 (decisions D31)."""


@dataclasses.dataclass(frozen=True, slots=True)
class HawkSettings:
    check_payload_hash: bool = True
    """Check the payload hash clients send (decisions D15). Turn off for Firefox builds that
    hashed non-ASCII fields differently from what they sent."""
    timestamp_skew: int = 60
    """Seconds a Hawk timestamp may differ from the server's clock; a nonce is remembered
    until its request's timestamp can no longer be accepted."""
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
    """Hours a new room lives when its owner gives no ``expiresIn``."""
    max_ttl: int = 1344
    """Longest ``expiresIn``, in hours."""
    extend_ttl: int = 1344
    """Hours a join or leave pushes the room's expiry out to."""
    participant_ttl: float = 300
    """Seconds without a refresh before a participant drops out."""
    deleted_ttl: int = 1620
    """Seconds deletions are remembered for ``GET /rooms?version=``."""
    max_size: int = 5
    """Largest ``maxSize`` of a room."""
    max_room_name_size: int = 100
    """Characters in a room name (deprecated ``roomName``)."""
    max_room_owner_size: int = 255
    """Characters in ``roomOwner``."""
    token_size: int = 8
    """Random bytes per room token (8 bytes: 11 characters)."""
    web_app_url: str = ""
    """Room links handed out; empty means ``<protocol>://<public_server_address>/{token}``,
    the room page this server serves itself (see ``Settings.__post_init__``)."""
    hkdf_salt: Secret = Secret("")
    """Hex salt of the key derivation for session keys. Empty: generated and kept in the
    storage."""


@dataclasses.dataclass(frozen=True, slots=True)
class TimersSettings:
    supervisory_duration: float = 10
    """Seconds a direct call may stay in ``init`` before it ends as timed out."""
    ringing_duration: float = 30
    """Seconds a direct call may ring."""
    connection_duration: float = 10
    """Seconds from ``connecting`` to ``connected`` before the call ends."""


@dataclasses.dataclass(frozen=True, slots=True)
class CallsSettings:
    max_subject_size: int = 124
    """Characters in a call's ``subject``."""


@dataclasses.dataclass(frozen=True, slots=True)
class CallUrlsSettings:
    token_size: int = 8
    """Random bytes per call-URL token."""
    timeout: int = 720
    """Hours a call URL lives by default."""
    max_timeout: int = 720
    """Longest ``expiresIn`` of a call URL, in hours."""
    web_app_url: str = "http://localhost:3000/c/{token}"
    """Call links handed out; ``{token}`` is replaced."""
    rate_limit: int = 60
    """Call URLs a session may create per ``rate_limit_period`` seconds (D12); 0: no limit.
    The other quotas are in :class:`LimitsSettings`."""
    rate_limit_period: int = 60
    """Seconds of that window."""


@dataclasses.dataclass(frozen=True, slots=True)
class LimitsSettings:
    """Quotas and rate limits (decisions D12, D32), counted in storage so they hold across
    every process sharing it: at most ``<name>`` requests per ``<name>_period`` seconds
    (a fixed window opened by the first request), then 429 errno 117 with
    ``Retry-After``. 0 disables a limit. Addresses are the client's (through
    ``trusted_proxies``; only HMACs of them are stored); the per-session limit on call URLs
    is ``call_urls.rate_limit``.

    On by default: what no real client does in bursts (calls, the rooms cap). Off by
    default: registrations, room creation and joins, which a load test, a busy NAT or an
    unconfigured proxy make in bursts from one address or session; a server open to the
    Internet sets them (``docs/profiles/public.toml``)."""

    registrations_per_address: int = 0
    """Sessions created without credentials (``POST /registration``,
    ``POST /fxa-oauth/params``)."""
    registrations_per_address_period: int = 60
    """Seconds of the ``registrations_per_address`` window."""
    rooms_per_session: int = 0
    """Rooms created."""
    rooms_per_session_period: int = 60
    """Seconds of the ``rooms_per_session`` window."""
    rooms_per_user: int = 0
    """Rooms created by one user, from all of their devices."""
    rooms_per_user_period: int = 3600
    """Seconds of the ``rooms_per_user`` window."""
    joins_per_address: int = 0
    """Anonymous joins (link-clickers; a Hawk-signed join is not limited)."""
    joins_per_address_period: int = 60
    """Seconds of the ``joins_per_address`` window."""
    calls_per_session: int = 60
    """Direct calls started (``POST /calls``)."""
    calls_per_session_period: int = 60
    """Seconds of the ``calls_per_session`` window."""
    calls_per_address: int = 60
    """Calls started, direct or from a call URL (``POST /calls/{token}``)."""
    calls_per_address_period: int = 60
    """Seconds of the ``calls_per_address`` window."""
    max_rooms_per_user: int = 1000
    """Live rooms a user may own; one more is 403 errno 999 until one is deleted or
    expires. 0: no cap."""

    def windows(self) -> dict[str, tuple[int, int]]:
        """Every rate limit by name: ``(limit, period)``."""
        periods = [f.name for f in dataclasses.fields(self) if f.name.endswith("_period")]
        limits = [name.removesuffix("_period") for name in periods]
        return {
            name: (getattr(self, name), getattr(self, period))
            for name, period in zip(limits, periods, strict=True)
        }


@dataclasses.dataclass(frozen=True, slots=True)
class MediaSettings:
    provider: str = "webrtc"
    """``webrtc`` (built in, default: browsers connect to each other, the server relays their
    signalling, decisions D18), ``fake`` (offline, OpenTok-shaped ids) or ``tokbox``
    (OpenTok / Vonage Video)."""
    fake_url: str = "https://call.stage.mozaws.net/"
    """API address the ``fake`` provider pretends to be."""


@dataclasses.dataclass(frozen=True, slots=True)
class TokBoxSettings:
    api_url: str = "https://api.opentok.com"
    """OpenTok API address."""
    credentials: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)
    """``{channel: {"api_key", "api_secret"[, "api_url"]}}``; must contain ``default``."""
    token_duration: int = 86400
    """Seconds an OpenTok token stays valid."""
    retry_on_error: int = 3
    """Attempts at creating an OpenTok session before 503."""
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
    """Seconds of the ``rate_limit`` window."""
    membership_check_interval: float = 1.0
    """Seconds between checks that connected members are still live participants (how a
    participant's expiry, or its room's deletion with the account, closes its socket)."""
    member_ttl: float = 60.0
    """Seconds a member stays listed by the storage unless its process renews it (a member
    of a process that died vanishes after this)."""


@dataclasses.dataclass(frozen=True, slots=True)
class FxaOAuthSettings:
    activated: bool = False
    """Offer the FxA OAuth flow (``/fxa-oauth/*``)."""
    client_id: str = ""
    """This server's FxA OAuth client id."""
    client_secret: Secret = Secret("")
    """Its client secret."""
    redirect_uri: str = "urn:ietf:wg:oauth:2.0:fx:webchannel"
    """Where FxA sends the user back."""
    profile_uri: str = "https://profile.firefox.com/v1"
    """FxA profile server."""
    content_uri: str = "https://accounts.firefox.com"
    """FxA content server."""
    oauth_uri: str = "https://oauth.accounts.firefox.com/v1"
    """FxA OAuth server."""
    scope: str = "profile"
    """Scope requested."""


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
    """Path the mounted gateway answers under."""
    config: str = ""
    """The gateway's TOML file (its ``MSISDN_*`` variables apply too); empty: defaults."""
    trust: bool = True
    """Verify the mounted gateway's certificates locally with its own key."""


@dataclasses.dataclass(frozen=True, slots=True)
class GaSettings:
    activated: bool = False
    """``POST /event`` sends Google Analytics events when true."""
    id: str = ""
    """Google Analytics tracking id."""
    url: str = "https://www.google-analytics.com/collect"
    """Where ``POST /event`` sends Measurement Protocol hits."""


@dataclasses.dataclass(frozen=True, slots=True)
class I18nSettings:
    default_lang: str = "en-US"
    """Language ``GET /`` reports when the client sends no ``Accept-Language``."""


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
    """Prometheus metrics at ``/metrics`` (README "Metrics"), and statsd as an option."""

    prometheus: bool = True
    """Count requests, latency, websockets, storage and push outcomes for Prometheus."""
    allowed_addresses: list[str] = dataclasses.field(
        default_factory=lambda: ["127.0.0.0/8", "::1/128"]
    )
    """Clients (addresses or CIDR blocks; behind ``trusted_proxies``, the forwarded client)
    that may read ``/metrics``; others get 403. Loopback only by default."""
    port: int = 0
    """Serve the metrics on this port of ``host`` instead of the app's ``/metrics`` (which
    then answers 404). 0: the app's own port."""
    host: str = "127.0.0.1"
    """Address of that separate metrics listener."""
    refresh_interval: float = 15.0
    """Seconds between two readings of the rooms in use and their participants for the
    ``loop_rooms_active`` and ``loop_participants_active`` gauges; a scrape never waits on
    the storage."""
    statsd_url: str = ""
    """``udp://host[:port]`` of a (Dog)StatsD collector; empty: no statsd."""


@dataclasses.dataclass(frozen=True, slots=True)
class LoggingSettings:
    level: str = "INFO"
    """``DEBUG``, ``INFO``, ``WARNING`` or ``ERROR``."""
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
    workers: int = 1
    """Processes serving the port (``--workers N``), each with its own event loop; what they
    share lives in the storage, so several want Redis. Their Prometheus figures are summed
    (README "Metrics")."""


MAX_WORKERS = 64


def server_checks(server: ServerSettings) -> list[tuple[bool, str]]:
    """The ``[server]`` checks, for both services' validators."""
    return [
        (server.header_timeout > 0, "server.header_timeout: must be positive"),
        (server.body_timeout > 0, "server.body_timeout: must be positive"),
        (server.keep_alive_timeout > 0, "server.keep_alive_timeout: must be positive"),
        (server.max_connections >= 0, "server.max_connections: must not be negative"),
        (server.reserved_files >= 0, "server.reserved_files: must not be negative"),
        (server.drain_timeout >= 0, "server.drain_timeout: must not be negative"),
        (1 <= server.workers <= MAX_WORKERS, f"server.workers: from 1 to {MAX_WORKERS}"),
    ]


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    """Address to listen on; ``0.0.0.0`` or ``::`` to accept connections from other
    machines."""
    port: int = 5000
    """Port to listen on."""
    accept_backlog: int = 511
    """Connections the kernel queues before the server accepts them."""
    public_server_address: str = "localhost:5000"
    """Host (and port) clients use to reach this server; used in the URLs the server hands
    out (room links, ``endpoint``) and, with ``hawk.check_host = "public"``, in Hawk
    checks."""
    protocol: str = "http"
    """``https`` when TLS is terminated in front of the server (Hawk then assumes port 443),
    else ``http``."""
    data_dir: str = "loop-data"
    """Folder of the default SQLite database (``<data_dir>/loop.db``), created at start."""
    user_mac_secret: Secret = Secret("")
    """Hex key of the keyed hash that names users in the storage. Empty: generated on first
    start and kept in the storage, so every process sharing it uses the same one. Production
    should set it (README "Secrets")."""
    user_mac_algorithm: str = "sha256"
    """Hash of that keyed hash (``sha256``)."""
    hawk_id_secret: Secret = Secret("")
    """Hex key of the keyed hash under which Hawk sessions are stored. Empty: generated and
    kept in the storage, as ``user_mac_secret``."""
    hawk_session_duration: int = 2_592_000
    """Seconds a Hawk session lives without use."""
    call_duration: int = 60
    """Seconds a direct call stays listed in ``GET /calls``."""
    progress_url_endpoint: str = "/websocket"
    """Path of the call-progress websocket handed out with calls."""
    allowed_origins: list[str] = dataclasses.field(
        default_factory=lambda: ["http://localhost:3000"]
    )
    """Origins allowed to call the API from a browser (CORS); ``"*"`` for any."""
    retry_after: int = 30
    """Seconds in the ``Retry-After`` of a 503 or 429 answer."""
    max_body_size: int = 100_000
    """Largest accepted request body, in bytes (413 errno 113 beyond)."""
    fxa_audiences: list[str] = dataclasses.field(default_factory=list)
    """Origins BrowserID assertions must be addressed to (this server's); empty refuses
    every assertion."""
    fxa_verifier: str = ""
    """Remote BrowserID verifier for issuers not verified locally (the Mozilla profile:
    ``https://verifier.accounts.firefox.com/v2``); empty: none, and ``/__heartbeat__`` does
    not check it."""
    fxa_trusted_issuers: list[str] = dataclasses.field(
        default_factory=lambda: ["api.accounts.firefox.com"]
    )
    """Issuers whose assertions the remote verifier may vouch for."""
    push_server_uris: list[str] = dataclasses.field(default_factory=list)
    """SimplePush servers handed to clients by ``GET /push-server-config`` (the Mozilla
    profile: ``wss://push.services.mozilla.com/``); ``/__heartbeat__`` checks each. Empty:
    ``pushServerURI`` is null and Web Push alone is offered."""
    heartbeat_timeout: int = 2000
    """Milliseconds each ``/__heartbeat__`` check may take."""
    display_version: bool = True
    """Show the version in ``GET /``."""
    trusted_proxies: list[str] = dataclasses.field(default_factory=list)
    """Addresses or CIDR blocks of the proxies in front (``["10.0.0.0/8"]``): a request
    from one of them is logged (and limited) by the ``X-Forwarded-For`` address its proxies
    vouch for. Empty: the connection's peer is the client."""
    storage: StorageSettings = dataclasses.field(default_factory=StorageSettings)
    hawk: HawkSettings = dataclasses.field(default_factory=HawkSettings)
    rooms: RoomsSettings = dataclasses.field(default_factory=RoomsSettings)
    timers: TimersSettings = dataclasses.field(default_factory=TimersSettings)
    calls: CallsSettings = dataclasses.field(default_factory=CallsSettings)
    call_urls: CallUrlsSettings = dataclasses.field(default_factory=CallUrlsSettings)
    limits: LimitsSettings = dataclasses.field(default_factory=LimitsSettings)
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

    def effective_secrets(self) -> dict[str, str]:
        """Every secret that processes sharing a storage must agree on, configured or
        generated, under the names the storage keeps generated ones by."""
        return {
            "user_mac_secret": str(self.user_mac_secret),
            "hawk_id_secret": str(self.hawk_id_secret),
            "hkdf_salt": str(self.rooms.hkdf_salt),
            WEBRTC_SECRET: str(self.webrtc.token_secret),
            VAPID_SECRET: str(self.push.vapid_private_key),
        }

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
            settings.storage.secrets_check_interval > 0,
            "storage.secrets_check_interval: must be positive",
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
    checks += _limits_checks(settings)
    checks += _webrtc_checks(settings.webrtc)
    checks += shared_checks(settings.storage.url, settings.trusted_proxies)
    checks += _metrics_checks(settings.metrics)
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


def _limits_checks(settings: Settings) -> list[tuple[bool, str]]:
    """Limits are counts (0 disables one); their periods are positive seconds."""
    windows = {f"limits.{name}": window for name, window in settings.limits.windows().items()}
    call_urls = settings.call_urls
    windows["call_urls.rate_limit"] = (call_urls.rate_limit, call_urls.rate_limit_period)
    cap = settings.limits.max_rooms_per_user
    checks = [(cap >= 0, "limits.max_rooms_per_user: must not be negative")]
    for name, (limit, period) in windows.items():
        checks.append((limit >= 0, f"{name}: must not be negative"))
        checks.append((period > 0, f"{name}_period: must be positive"))
    return checks


def _metrics_checks(metrics: MetricsSettings) -> list[tuple[bool, str]]:
    checks = [
        (0 <= metrics.port <= 65535, "metrics.port: must be a port number, or 0"),
        (metrics.refresh_interval > 0, "metrics.refresh_interval: must be positive"),
    ]
    return checks + _network_checks("metrics.allowed_addresses", metrics.allowed_addresses)


def _network_checks(key: str, entries: list[str]) -> list[tuple[bool, str]]:
    """Each entry an address or a CIDR block, as ``loop.web.clients.parse_networks`` reads
    them at start-up."""
    checks = []
    for entry in entries:
        try:
            ipaddress.ip_network(entry.strip(), strict=False)
        except ValueError:
            checks.append((False, f"{key}: {entry!r} is not an IP address or network"))
    return checks


STORAGE_SCHEMES = ("sqlite", "redis", "rediss", "unix", "redis+cluster", "rediss+cluster")
"""The ``storage.url`` schemes a backend exists for (``loop.storage.storage_kind``)."""


def shared_checks(storage_url: str, trusted_proxies: list[str]) -> list[tuple[bool, str]]:
    """Checks both servers' settings need: a storage URL a backend can open, and proxies
    that are addresses (so ``--check`` refuses what start-up would fail on)."""
    scheme = storage_url.partition(":")[0].lower()
    checks = [
        (
            not storage_url or (":" in storage_url and scheme in STORAGE_SCHEMES),
            f"storage.url: unsupported scheme {scheme!r} (use sqlite:// or redis://)",
        )
    ]
    if scheme.endswith("+cluster"):
        nodes, _, path = storage_url.partition("://")[2].partition("?")[0].partition("/")
        listed = bool(nodes) and all(n.rpartition(":")[2].isdigit() for n in nodes.split(","))
        checks.append(
            (
                listed and path in ("", "0"),
                "storage.url: a Redis Cluster URL is redis+cluster://host:port,host:port/"
                " (database 0 only)",
            )
        )
    return checks + _network_checks("trusted_proxies", trusted_proxies)


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
