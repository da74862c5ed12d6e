"""The ``[server]`` settings: shared by both services, validated, and a connection cap
derived from the open-file limit that refuses to start when the limit leaves too little."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from loop.config import ConfigError, ServerSettings, load_settings
from loop.msisdn.config import load_msisdn_settings
from loop.web.server import derived_connection_cap
from tests.server.clients import FILE_LIMIT
from tests.support.servers import limit_open_files

SMS = {"MSISDN_SMS_GATEWAYS__LOG__PRIORITY": "1"}
"""The gateway refuses to start without an SMS provider."""


def test_both_services_read_the_server_section() -> None:
    assert load_settings(environ={}).server == ServerSettings(
        header_timeout=10.0,
        body_timeout=30.0,
        keep_alive_timeout=5,
        max_connections=0,
        reserved_files=128,
        drain_timeout=10.0,
    )
    loop = load_settings(environ={"LOOP_SERVER__HEADER_TIMEOUT": "2.5"})
    assert loop.server.header_timeout == 2.5
    msisdn = load_msisdn_settings(environ={**SMS, "MSISDN_SERVER__DRAIN_TIMEOUT": "3"})
    assert msisdn.server.drain_timeout == 3.0


@pytest.mark.parametrize(
    ("key", "value", "error"),
    [
        ("HEADER_TIMEOUT", "0", "server.header_timeout: must be positive"),
        ("BODY_TIMEOUT", "-1", "server.body_timeout: must be positive"),
        ("KEEP_ALIVE_TIMEOUT", "0", "server.keep_alive_timeout: must be positive"),
        ("MAX_CONNECTIONS", "-5", "server.max_connections: must not be negative"),
        ("RESERVED_FILES", "-1", "server.reserved_files: must not be negative"),
        ("DRAIN_TIMEOUT", "-0.5", "server.drain_timeout: must not be negative"),
        ("KEEP_ALIVE_TIMEOUT", "1.5", "server.keep_alive_timeout: expected an integer, got '1.5'"),
        ("LINGER", "1", "server.linger: unknown setting"),
    ],
)
def test_bad_server_settings_are_refused(key: str, value: str, error: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(environ={f"LOOP_SERVER__{key}": value})
    assert str(refused.value) == error
    with pytest.raises(ConfigError) as refused:
        load_msisdn_settings(environ={**SMS, f"MSISDN_SERVER__{key}": value})
    assert str(refused.value) == error


def test_the_cap_is_the_file_limit_less_the_reserve_unless_set() -> None:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert derived_connection_cap(0, 100) == soft - 100
    assert derived_connection_cap(42, 100) == 42
    with pytest.raises(ValueError, match=r"open-file limit \(\d+\) less server.reserved_files"):
        derived_connection_cap(0, soft)


def test_a_file_limit_leaving_too_few_connections_stops_the_server(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOOP_", "MSISDN_"))}
    env |= {"LOOP_DATA_DIR": str(tmp_path), "LOOP_SERVER__RESERVED_FILES": str(FILE_LIMIT - 10)}
    loop_server = Path(sys.executable).parent / "loop-server"
    result = subprocess.run(
        [str(loop_server)],
        env=env,
        capture_output=True,
        timeout=30,
        preexec_fn=limit_open_files(FILE_LIMIT),
    )
    assert result.returncode == 2
    assert result.stderr.decode() == (
        "loop-server: configuration error: server.max_connections: the open-file limit (256) "
        "less server.reserved_files (246) leaves 10 connections; raise `ulimit -n` or set "
        "server.max_connections\n"
    )
