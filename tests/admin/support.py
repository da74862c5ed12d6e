"""Running ``loop-server admin`` for real: the console command next to this Python, in a
subprocess with an environment cleaned of the developer's ``LOOP_*`` variables."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

LOOP_SERVER = Path(sys.executable).parent / "loop-server"
SECRETS = {"LOOP_USER_MAC_SECRET": "00" * 16, "LOOP_HAWK_ID_SECRET": "11" * 16}
"""The secrets ``tests.support.app.make_settings`` fixes, so the command and an in-process
app agree on user MACs and Hawk ids."""
TIMEOUT = 60


def admin(
    *args: str, storage_url: str | None, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``loop-server admin ARGS`` on ``storage_url`` (``None``: the default SQLite file in
    ``cwd/loop-data``); its exit status, stdout and stderr."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("LOOP_", "MSISDN_"))}
    if storage_url is not None:
        environ["LOOP_STORAGE__URL"] = storage_url
    environ |= env if env is not None else SECRETS
    return subprocess.run(
        [str(LOOP_SERVER), "admin", *args],
        env=environ,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def figures(storage_url: str, cwd: Path) -> dict[str, Any]:
    """``admin stats --json``, minus what depends on the backend's layout."""
    done = admin("stats", "--json", storage_url=storage_url, cwd=cwd)
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    counts: dict[str, Any] = json.loads(done.stdout)
    for varying in ("backend", "size_bytes", "keys"):
        counts.pop(varying)
    return counts


def zero_figures() -> dict[str, int]:
    names = "users sessions rooms participants calls call_urls push_registrations".split()
    return dict.fromkeys(names, 0)
