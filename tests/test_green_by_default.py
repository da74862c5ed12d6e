"""A fresh server is healthy: ``loop-server`` started with nothing configured but its port
and data folder answers ``/__heartbeat__`` 200, on a machine that reaches nothing outside
(decisions D19: a check runs only for what is configured)."""

from __future__ import annotations

import stat
from pathlib import Path

import requests

from loop.msisdn.storage.sqlite import SQLiteGatewayStorage
from tests.support.ports import free_port
from tests.support.servers import console_command


def test_fresh_server_heartbeat_is_green(tmp_path: Path) -> None:
    port = free_port()
    env = {"LOOP_PORT": str(port), "LOOP_DATA_DIR": str(tmp_path / "data")}
    with console_command("loop-server", port, tmp_path / "server.log", env):
        base = f"http://127.0.0.1:{port}"
        heartbeat = requests.get(f"{base}/__heartbeat__", timeout=10)
        push_config = requests.get(f"{base}/push-server-config", timeout=10)
    assert heartbeat.status_code == 200
    assert heartbeat.json() == {
        "storage": True,
        "provider": True,
        "push": True,
        "fxaVerifier": True,
    }
    assert push_config.status_code == 200
    assert push_config.json()["pushServerURI"] is None


def test_database_holding_the_secrets_is_private(tmp_path: Path) -> None:
    """The SQLite file keeps the generated secrets and every session's key: 0600, not the
    umask's 0644, and so are SQLite's companion files."""
    port = free_port()
    data = tmp_path / "data"
    env = {"LOOP_PORT": str(port), "LOOP_DATA_DIR": str(data)}
    with console_command("loop-server", port, tmp_path / "server.log", env):
        assert requests.post(f"http://127.0.0.1:{port}/registration", timeout=10).ok
        modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in data.iterdir()}
    assert modes["loop.db"] == 0o600
    assert set(modes.values()) == {0o600}


async def test_gateway_database_is_private_in_a_folder_made_for_it(tmp_path: Path) -> None:
    storage = SQLiteGatewayStorage(str(tmp_path / "missing-folder" / "msisdn.db"))
    try:
        mode = stat.S_IMODE((tmp_path / "missing-folder" / "msisdn.db").stat().st_mode)
    finally:
        await storage.close()
    assert mode == 0o600
