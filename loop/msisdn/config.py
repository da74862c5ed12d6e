"""The gateway's settings (msisdn-and-auth.md §1.9 in snake_case, decisions D21-D24).

Loaded like :mod:`loop.config` (defaults < TOML file < environment, every value cast and
every error naming its key) but with its own environment prefix, ``MSISDN_``
(``MSISDN_SMS_GATEWAYS__NEXMO__API_KEY=…``, ``MSISDN_RATE_LIMITS__PERIOD=600``), so the
two services can run side by side, or in one process, without their variables clashing.

Secrets left empty (``hawk_id_secret``, ``msisdn_id_secret``, the BrowserID key pair) are
generated on first start and kept in the gateway's storage.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path

from loop.config import (
    ConfigError,
    LoggingSettings,
    Secret,
    ServerSettings,
    build,
    load_raw,
    server_checks,
    shared_checks,
)

ENV_PREFIX = "MSISDN_"

LOGGER_NAME = "LoopMsisdn"
"""MozLog's ``Logger`` for the gateway's own process, so its lines are told from Loop's."""

SAMPLE_HEADER = """Sample configuration for loop-msisdn (the MSISDN gateway), written by
`loop-msisdn --sample-config` from the settings' declarations: every key is optional and
shown with its default.

Any key can also be set from the environment: MSISDN_ + upper snake case, "__" between
levels, e.g. MSISDN_SMS_GATEWAYS__NEXMO__PRIORITY=10. Start with:
loop-msisdn --config msisdn.toml (or mount it in loop-server: [msisdn] mount = true,
config = "msisdn.toml")."""
PROVIDERS = ("nexmo", "log")


@dataclasses.dataclass(frozen=True, slots=True)
class StorageSettings:
    url: str = ""
    """``sqlite:///path``, ``sqlite://:memory:`` or ``redis://host:port/db``; empty means
    ``sqlite:///<data_dir>/msisdn.db``."""
    timeout: float = 2.0
    """Seconds any wait on the storage may last (Redis command, SQLite write lock)."""


@dataclasses.dataclass(frozen=True, slots=True)
class BrowserIDSettings:
    issuer: str = ""
    """The certificates' ``iss``; empty means the request's ``Host`` header (§2.2)."""
    public_key: str = ""
    """``BIDPublicKey``: a key object as JSON; both empty → generated and stored."""
    secret_key: Secret = Secret("")
    """``BIDSecretKey``: the matching secret key object as JSON."""
    key_algorithm: str = "DS256"
    """Algorithm of a generated key pair (``DS256``, ``DS128``, ``RS256``)."""
    max_duration: int = 86_400
    """Longest certificate lifetime granted, seconds (a longer ``duration`` is cut to it);
    0 = no cap, as the original."""


@dataclasses.dataclass(frozen=True, slots=True)
class SmsMappingSettings:
    mt_sender: str = "Mozilla@"
    mt_sender_mapping: dict[str, str] = dataclasses.field(default_factory=dict)
    """``{"<mcc><mnc>" or "<mcc>": number}``."""
    mo_verifier: str = ""
    """Empty: no SMS-MO flow offered by default."""
    mo_verifier_mapping: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, slots=True)
class NexmoSettings:
    endpoint: str = ""
    """e.g. ``https://rest.nexmo.com/sms/json``; empty leaves the provider out."""
    api_key: str = ""
    api_secret: Secret = Secret("")
    priority: int = 0
    timeout: float = 10.0


@dataclasses.dataclass(frozen=True, slots=True)
class LogProviderSettings:
    priority: int = 0
    """DEVELOPMENT ONLY: writes every SMS, code included, to the log (D24). Refused when
    ``env`` is ``production``."""


@dataclasses.dataclass(frozen=True, slots=True)
class SmsGatewaysSettings:
    nexmo: NexmoSettings = dataclasses.field(default_factory=NexmoSettings)
    log: LogProviderSettings = dataclasses.field(default_factory=LogProviderSettings)


@dataclasses.dataclass(frozen=True, slots=True)
class RateLimitSettings:
    """Fixed windows of ``period`` seconds (D21); a limit of 0 disables it."""

    period: int = 3600
    short_code_per_session: int = 5
    """errno 114: ``/sms/mt/verify`` with ``shortVerificationCode`` per session."""
    sms_per_msisdn: int = 10
    """errno 115: verification SMS sent to one number (MT and MO flows)."""
    verify_code_per_session: int = 30
    """errno 116: ``/sms/verify_code`` attempts per session, across new codes."""
    requests_per_ip: int = 600
    """errno 117: unauthenticated requests (``/discover``, ``/register``) per client IP."""


@dataclasses.dataclass(frozen=True, slots=True)
class I18nSettings:
    default_lang: str = "en-US"


@dataclasses.dataclass(frozen=True, slots=True)
class MsisdnSettings:
    env: str = "development"
    protocol: str = "http"
    ip: str = "127.0.0.1"
    port: int = 5000
    api_prefix: str = ""
    display_version: bool = True
    data_dir: str = "msisdn-data"
    allowed_origins: list[str] = dataclasses.field(default_factory=lambda: ["*"])
    retry_after: int = 30
    short_code_length: int = 6
    long_code_bytes: int = 16
    nb_code_tries: int = 3
    nb_sms_send_tries: int = 3
    code_ttl: int = 86400
    hawk_id_secret: Secret = Secret("")
    hawk_session_duration: int = 86400
    hawk_timestamp_skew: int = 60
    msisdn_id_secret: Secret = Secret("")
    msisdn_mac_algorithm: str = "sha256"
    sms_gateway_reset_timer: int = 3600
    request_max_size: int = 25_000
    fake_encrypt: bool = False
    trusted_proxies: list[str] = dataclasses.field(default_factory=list)
    """As the Loop server's ``trusted_proxies``: proxies whose ``X-Forwarded-For`` names
    the client in the request log."""
    storage: StorageSettings = dataclasses.field(default_factory=StorageSettings)
    browserid: BrowserIDSettings = dataclasses.field(default_factory=BrowserIDSettings)
    sms_mapping: SmsMappingSettings = dataclasses.field(default_factory=SmsMappingSettings)
    sms_gateways: SmsGatewaysSettings = dataclasses.field(default_factory=SmsGatewaysSettings)
    rate_limits: RateLimitSettings = dataclasses.field(default_factory=RateLimitSettings)
    i18n: I18nSettings = dataclasses.field(default_factory=I18nSettings)
    server: ServerSettings = dataclasses.field(default_factory=ServerSettings)
    logging: LoggingSettings = dataclasses.field(default_factory=LoggingSettings)

    @property
    def storage_url(self) -> str:
        return self.storage.url or f"sqlite:///{Path(self.data_dir) / 'msisdn.db'}"

    def with_secrets(self, secrets: Mapping[str, str]) -> MsisdnSettings:
        """A copy with generated secrets where none was configured."""
        browserid = self.browserid
        if not browserid.secret_key:
            browserid = dataclasses.replace(
                browserid,
                public_key=secrets["bid_public_key"],
                secret_key=Secret(secrets["bid_secret_key"]),
            )
        return dataclasses.replace(
            self,
            hawk_id_secret=Secret(self.hawk_id_secret or secrets["hawk_id_secret"]),
            msisdn_id_secret=Secret(self.msisdn_id_secret or secrets["msisdn_id_secret"]),
            browserid=browserid,
        )


def load_msisdn_settings(
    path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> MsisdnSettings:
    """Defaults < TOML file < ``MSISDN_*`` environment; :class:`ConfigError` names the key."""
    settings = build(MsisdnSettings, load_raw(path, environ, ENV_PREFIX))
    validate(settings)
    return settings


def validate(settings: MsisdnSettings) -> None:
    """Cross-field checks; the first failing one raises :class:`ConfigError`."""
    gateways = settings.sms_gateways
    checks = [
        (settings.env in ("production", "development", "test"), "env: unknown environment"),
        (settings.protocol in ("http", "https"), "protocol: must be 'http' or 'https'"),
        (not settings.api_prefix.endswith("/"), "api_prefix: no trailing slash"),
        (
            settings.api_prefix == "" or settings.api_prefix.startswith("/"),
            "api_prefix: must start with '/'",
        ),
        (_is_hex(settings.hawk_id_secret, 16), "hawk_id_secret: must be 32 hex characters"),
        (_is_hex(settings.msisdn_id_secret, 16), "msisdn_id_secret: must be 32 hex characters"),
        (1 <= settings.short_code_length <= 12, "short_code_length: must be 1 to 12"),
        (8 <= settings.long_code_bytes <= 64, "long_code_bytes: must be 8 to 64"),
        (settings.nb_code_tries >= 1, "nb_code_tries: must be at least 1"),
        (settings.nb_sms_send_tries >= 1, "nb_sms_send_tries: must be at least 1"),
        (settings.rate_limits.period > 0, "rate_limits.period: must be positive"),
        (
            0 < settings.storage.timeout <= 60,
            "storage.timeout: must be positive and at most 60 seconds",
        ),
        (
            gateways.log.priority == 0 or settings.env != "production",
            "sms_gateways.log.priority: the log provider is refused in production",
        ),
        (
            bool(settings.browserid.public_key) == bool(settings.browserid.secret_key),
            "browserid.secret_key: set both public_key and secret_key, or neither",
        ),
        (
            gateways.log.priority > 0
            or (bool(gateways.nexmo.endpoint) and gateways.nexmo.priority > 0),
            "sms_gateways: no SMS provider has a non-zero priority (configure nexmo, or for "
            "development MSISDN_SMS_GATEWAYS__LOG__PRIORITY=1)",
        ),
        *shared_checks(settings.storage.url, settings.trusted_proxies),
    ]
    checks += server_checks(settings.server)
    for ok, message in checks:
        if not ok:
            raise ConfigError(message)


def _is_hex(value: str, nbytes: int) -> bool:
    """Empty (to be generated) or exactly ``nbytes`` bytes of hex."""
    if not value:
        return True
    try:
        return len(bytes.fromhex(value)) == nbytes
    except ValueError:
        return False
