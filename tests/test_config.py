from __future__ import annotations

from pathlib import Path

import pytest

from loop.cli import main
from loop.config import WEBRTC_SECRET, ConfigError, Secret, Settings, load_settings


def test_defaults_are_the_original_servers() -> None:
    settings = load_settings(environ={})
    assert (settings.host, settings.port) == ("127.0.0.1", 5000)
    assert settings.rooms.participant_ttl == 300
    assert settings.rooms.deleted_ttl == 1620
    assert settings.rooms.max_size == 5
    assert settings.rooms.default_ttl == settings.rooms.max_ttl == 1344
    assert settings.hawk_session_duration == 2_592_000
    assert settings.allowed_origins == ["http://localhost:3000"]
    assert settings.media.provider == "webrtc"
    assert settings.webrtc.stun_urls == settings.webrtc.turn_urls == []
    assert settings.storage_url == "sqlite:///loop-data/loop.db"
    assert settings.hawk.check_payload_hash is True


def test_file_then_environment_override(tmp_path: Path) -> None:
    path = tmp_path / "loop.toml"
    path.write_text("port = 6000\n[rooms]\nparticipant_ttl = 30\nmax_size = 3\n")
    settings = load_settings(
        path, environ={"LOOP_ROOMS__PARTICIPANT_TTL": "0.5", "LOOP_HOST": "0.0.0.0"}
    )
    assert settings.port == 6000
    assert settings.rooms.participant_ttl == 0.5
    assert settings.rooms.max_size == 3
    assert settings.host == "0.0.0.0"


def test_environment_casts_lists_tables_and_booleans() -> None:
    settings = load_settings(
        environ={
            "LOOP_ALLOWED_ORIGINS": "http://a.example, http://b.example",
            "LOOP_FXA_AUDIENCES": '["app://loop"]',
            "LOOP_HAWK__CHECK_PAYLOAD_HASH": "false",
            "LOOP_STORAGE__URL": "redis://127.0.0.1:6379/0",
            "LOOP_MEDIA__PROVIDER": "tokbox",
            "LOOP_TOKBOX__CREDENTIALS": '{"default": {"api_key": "k", "api_secret": "s"}}',
        }
    )
    assert settings.allowed_origins == ["http://a.example", "http://b.example"]
    assert settings.fxa_audiences == ["app://loop"]
    assert settings.hawk.check_payload_hash is False
    assert settings.storage_url == "redis://127.0.0.1:6379/0"
    assert settings.tokbox.credentials["default"]["api_key"] == "k"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"LOOP_PORT": "http"}, "port: expected an integer, got 'http'"),
        ({"LOOP_ROOMS__MAX_SIZE": "2.5"}, "rooms.max_size: expected an integer, got '2.5'"),
        ({"LOOP_ROOMS__MAX_SIZE": "1"}, "rooms.max_size: must be at least 2"),
        ({"LOOP_ROOMS__NOPE": "1"}, "rooms.nope: unknown setting"),
        ({"LOOP_HAWK__CHECK_PAYLOAD_HASH": "maybe"}, "hawk.check_payload_hash: expected a"),
        ({"LOOP_MEDIA__PROVIDER": "skype"}, "media.provider: must be 'webrtc', 'fake' or"),
        ({"LOOP_WEBRTC__STUN_URLS": "turn:x"}, "webrtc.stun_urls: each must start with stun:"),
        ({"LOOP_WEBRTC__TURN_URLS": "stun:x"}, "webrtc.turn_urls: each must start with turn:"),
        ({"LOOP_WEBRTC__TURN_URLS": "turn:x"}, "webrtc.turn_secret: required when"),
        ({"LOOP_WEBRTC__RATE_LIMIT": "0"}, "webrtc.rate_limit: must be positive"),
        ({"LOOP_WEBRTC__MAX_MESSAGE_SIZE": "10"}, "webrtc.max_message_size: must be at least"),
        ({"LOOP_WEBRTC__MEMBER_TTL": "1"}, "webrtc.member_ttl: must exceed three"),
        ({"LOOP_MEDIA__PROVIDER": "tokbox"}, "tokbox.credentials: must contain a 'default'"),
        ({"LOOP_PROTOCOL": "gopher"}, "protocol: must be 'http' or 'https'"),
        ({"LOOP_HAWK__CHECK_HOST": "proxy"}, "hawk.check_host: must be 'request' or 'public'"),
        (
            {"LOOP_HAWK__CHECK_HOST": "public", "LOOP_PUBLIC_SERVER_ADDRESS": "https://x.org/"},
            "public_server_address: must be host[:port] when hawk.check_host is 'public'",
        ),
        ({"LOOP_TOKBOX__CREDENTIALS": "[1]"}, "tokbox.credentials: expected a table"),
        ({"LOOP_STORAGE__TIMEOUT": "0"}, "storage.timeout: must be positive and at most 60"),
        ({"LOOP_STORAGE__TIMEOUT": "61"}, "storage.timeout: must be positive and at most 60"),
        ({"LOOP_STORAGE__TIMEOUT": "nan"}, "storage.timeout: must be positive and at most 60"),
        (
            {"LOOP_STORAGE__SECRETS_CHECK_INTERVAL": "0"},
            "storage.secrets_check_interval: must be positive",
        ),
        (
            {"LOOP_STORAGE__SECRETS_CHECK_INTERVAL": "nan"},
            "storage.secrets_check_interval: must be positive",
        ),
        ({"LOOP_LIMITS__ROOMS_PER_USER": "-1"}, "limits.rooms_per_user: must not be negative"),
        (
            {"LOOP_LIMITS__JOINS_PER_ADDRESS_PERIOD": "0"},
            "limits.joins_per_address_period: must be positive",
        ),
        (
            {"LOOP_LIMITS__MAX_ROOMS_PER_USER": "-5"},
            "limits.max_rooms_per_user: must not be negative",
        ),
        ({"LOOP_LIMITS__ROOMS_PER_HOUR": "5"}, "limits.rooms_per_hour: unknown setting"),
        (
            {"LOOP_METRICS__ALLOWED_ADDRESSES": '["10.0.0.0/8", "nope"]'},
            "metrics.allowed_addresses: 'nope' is not an IP address or network",
        ),
        (
            {"LOOP_TRUSTED_PROXIES": '["nope"]'},
            "trusted_proxies: 'nope' is not an IP address or network",
        ),
        ({"LOOP_CALL_URLS__RATE_LIMIT": "-1"}, "call_urls.rate_limit: must not be negative"),
        (
            {"LOOP_CALL_URLS__RATE_LIMIT_PERIOD": "0"},
            "call_urls.rate_limit_period: must be positive",
        ),
    ],
)
def test_a_wrong_value_names_its_key(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(environ=environ)
    assert str(info.value).startswith(message)


def test_wrong_types_in_the_file_name_their_key(tmp_path: Path) -> None:
    path = tmp_path / "loop.toml"
    path.write_text("[rooms]\nweb_app_url = 3\n")
    with pytest.raises(ConfigError, match=r"^rooms.web_app_url: expected a string, got 3$"):
        load_settings(path, environ={})
    path.write_text("rooms = 3\n")
    with pytest.raises(ConfigError, match="^rooms: must be a table$"):
        load_settings(path, environ={})
    path.write_text("port = \n")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_settings(path, environ={})


def test_secrets_never_show_in_repr() -> None:
    settings = Settings(user_mac_secret=Secret("deadbeef"))
    assert "deadbeef" not in repr(settings)
    filled = Settings().with_secrets(
        {"user_mac_secret": "aa", "hawk_id_secret": "bb", "hkdf_salt": "cc"}
    )
    assert (filled.user_mac_secret, filled.hawk_id_secret, filled.rooms.hkdf_salt) == (
        "aa",
        "bb",
        "cc",
    )
    assert filled.webrtc.token_secret == ""
    generated = Settings().with_secrets(
        {
            "user_mac_secret": "aa",
            "hawk_id_secret": "bb",
            "hkdf_salt": "cc",
            WEBRTC_SECRET: "d0d0cafe",
        }
    )
    assert generated.webrtc.token_secret == "d0d0cafe"
    assert "d0d0cafe" not in repr(generated)
    configured = Settings(user_mac_secret=Secret("11")).with_secrets(
        {"user_mac_secret": "aa", "hawk_id_secret": "bb", "hkdf_salt": "cc"}
    )
    assert configured.user_mac_secret == "11"


def test_cli_stops_with_a_message_naming_the_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOOP_ROOMS__PARTICIPANT_TTL", "soon")
    assert main(["--check"]) == 2
    err = capsys.readouterr().err
    assert "rooms.participant_ttl: expected a number, got 'soon'" in err


def test_cli_check_accepts_a_valid_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "loop.toml"
    path.write_text("[rooms]\nparticipant_ttl = 60\n")
    assert main(["--config", str(path), "--check"]) == 0
    assert "valid" in capsys.readouterr().out


def test_the_sample_config_loads_and_matches_the_defaults() -> None:
    sample = Path(__file__).resolve().parent.parent / "loop.sample.toml"
    assert load_settings(sample, environ={}) == load_settings(environ={})


def test_limits_are_read_as_windows_and_zero_disables_one() -> None:
    environ = {"LOOP_LIMITS__ROOMS_PER_USER": "0", "LOOP_LIMITS__JOINS_PER_ADDRESS": "7"}
    windows = load_settings(environ=environ).limits.windows()
    assert windows == {
        "registrations_per_address": (0, 60),
        "rooms_per_session": (0, 60),
        "rooms_per_user": (0, 3600),
        "joins_per_address": (7, 60),
        "calls_per_session": (60, 60),
        "calls_per_address": (60, 60),
    }
