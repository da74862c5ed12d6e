"""The deployment files ship in a state that works: the Dockerfile passes ``hadolint``,
its health check succeeds against a running server (and fails without one), the settings
it and ``compose.yaml`` pass are valid ones, and the systemd unit verifies.

No container runtime runs on the CI machine, so the image itself is not built here
(README "Deployment")."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from loop.config import load_settings
from tests.support.ports import free_port, refusing_port
from tests.support.servers import console_command

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def dockerfile_instructions(name: str) -> list[str]:
    """The arguments of every ``name`` instruction of the final stage (continuations
    joined)."""
    text = (ROOT / "Dockerfile").read_text("utf-8").replace("\\\n", " ")
    final_stage = text.rsplit("\nFROM ", 1)[1]
    return [line.split(None, 1)[1] for line in final_stage.splitlines() if line.startswith(name)]


def dockerfile_environment() -> dict[str, str]:
    (env_line,) = dockerfile_instructions("ENV")
    return dict(re.findall(r"(\w+)=(\S+)", env_line))


def test_dockerfile_passes_hadolint() -> None:
    result = subprocess.run(
        [str(BIN / "hadolint"), "--failure-threshold", "info", str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_image_runs_as_an_unprivileged_user() -> None:
    assert dockerfile_instructions("USER") == ["10001"]


def test_dockerfile_settings_are_valid() -> None:
    settings = load_settings(None, environ=dockerfile_environment())
    assert (settings.host, settings.port, settings.data_dir) == ("0.0.0.0", 5000, "/data")


def healthcheck_command() -> list[str]:
    (healthcheck,) = dockerfile_instructions("HEALTHCHECK")
    command: list[str] = json.loads(healthcheck.split(" CMD ", 1)[1])
    assert command[0] == "python"
    return [sys.executable, *command[1:]]


def test_healthcheck_passes_against_a_running_server(tmp_path: Path) -> None:
    port = free_port()
    env = {"LOOP_PORT": str(port), "LOOP_DATA_DIR": str(tmp_path)}
    with console_command("loop-server", port, tmp_path / "server.log", env):
        result = subprocess.run(
            healthcheck_command(), env={"LOOP_PORT": str(port)}, capture_output=True, timeout=30
        )
    assert result.returncode == 0, result.stderr


def test_healthcheck_fails_without_a_server() -> None:
    with refusing_port() as port:
        result = subprocess.run(
            healthcheck_command(), env={"LOOP_PORT": str(port)}, capture_output=True, timeout=30
        )
    assert result.returncode != 0


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text("utf-8"))
    return loaded


def interpolated(value: str) -> str:
    """Compose's ``${NAME:-default}`` / ``${NAME:?message}``, with a test value for each."""
    return re.sub(r"\$\{(\w+)(?::-([^}]*)|:\?[^}]*)?\}", lambda m: m.group(2) or "x", value)


def test_compose_settings_are_valid_and_wired_together() -> None:
    services = compose()["services"]
    assert set(services) == {"loop", "redis", "coturn"}
    loop_env = {k: interpolated(v) for k, v in services["loop"]["environment"].items()}
    settings = load_settings(None, environ=loop_env)
    assert settings.storage.url == "redis://redis:6379/0"
    assert settings.webrtc.turn_urls and settings.webrtc.turn_secret
    turn_secret = services["loop"]["environment"]["LOOP_WEBRTC__TURN_SECRET"]
    assert f"--static-auth-secret={turn_secret}" in services["coturn"]["command"]
    assert "--use-auth-secret" in services["coturn"]["command"]
    assert "--appendonly" in services["redis"]["command"]
    grace = services["loop"]["stop_grace_period"]
    assert grace.endswith("s") and int(grace[:-1]) > settings.server.drain_timeout


def test_systemd_unit_verifies(tmp_path: Path) -> None:
    unit = (ROOT / "deploy" / "loop-server.service").read_text("utf-8")
    unit = unit.replace("/opt/loop-server/bin/loop-server", str(BIN / "loop-server"))
    (tmp_path / "loop-server.service").write_text(unit, "utf-8")
    result = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / "loop-server.service")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "UMask=0077" in unit and "DynamicUser=yes" in unit
