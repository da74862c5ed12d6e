"""The README's tour runs as written, against a real ``loop-server``, with only what the
README installs (the virtualenv and ``curl``)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.support.ports import free_port
from tests.support.servers import console_command

ROOT = Path(__file__).resolve().parent.parent


def tour_script() -> str:
    readme = (ROOT / "README.md").read_text("utf-8")
    tour = readme.split("## A short tour\n", 1)[1]
    match = re.search(r"```sh\n(.*?)```", tour, re.DOTALL)
    assert match is not None, "the tour has no sh block"
    return match.group(1)


def test_readme_tour_runs_as_written(tmp_path: Path) -> None:
    port = free_port()
    env = {"LOOP_PORT": str(port), "LOOP_DATA_DIR": str(tmp_path / "data")}
    script = tour_script().replace("localhost:5000", f"127.0.0.1:{port}")
    script = script.replace(".venv/bin/python", sys.executable)
    with console_command("loop-server", port, tmp_path / "server.log", env):
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert re.search(r"^hawk-session-token: [0-9a-f]{64}\r?$", out, re.MULTILINE | re.IGNORECASE)
    assert re.search(r"\{'roomToken': '[\w-]{11}', 'roomUrl': 'http://", out)
    assert "'displayName': 'Bob'" in out
    assert "\n204\n" in out
    assert '{"storage":true,"provider":true,"push":true,"fxaVerifier":true}' in out
