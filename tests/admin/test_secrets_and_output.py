"""``admin secrets`` (guidance without values), and the output conventions: a progress bar
only on a terminal, quiet otherwise; ``-`` for standard output."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import struct
import subprocess
import termios
from pathlib import Path

from tests.admin.support import LOOP_SERVER, SECRETS, TIMEOUT, admin
from tests.support.app import make_settings, running_app


def origins(text: str) -> dict[str, str]:
    """``setting: origin`` lines of the guidance."""
    found = {}
    for line in text.splitlines():
        name, sep, origin = line.partition(": ")
        if sep and not line.startswith(" ") and " " not in name:
            found[name] = origin
    return found


async def test_secrets_says_where_each_comes_from_and_never_its_value(
    storage_url: str, tmp_path: Path
) -> None:
    async with running_app(make_settings(storage_url)) as (_, services, _clock):
        await services.storage.ensure_secrets({"hkdf_salt": "5a17" * 8, "vapid_private_key": "v"})

        done = admin("secrets", storage_url=storage_url, cwd=tmp_path)

    assert (done.returncode, done.stderr) == (0, "")
    assert origins(done.stdout) == {
        "hawk_id_secret": "configured",
        "user_mac_secret": "configured",
        "rooms.hkdf_salt": "generated (kept by the storage)",
        "webrtc.token_secret": "not generated yet (made on the server's first start)",
        "push.vapid_private_key": "generated (kept by the storage)",
        "webrtc.turn_secret": "not set",
        "fxa_oauth.client_secret": "not set",
    }
    for value in (*SECRETS.values(), "5a17" * 8):
        assert value not in done.stdout
    assert "    changing it breaks every Hawk session" in done.stdout


def test_export_to_standard_output(tmp_path: Path) -> None:
    done = admin("export", "-", storage_url=None, cwd=tmp_path)

    assert (done.returncode, done.stderr) == (0, "")
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines[0]["format"] == "loop-server-dump"
    assert lines[-1] == {"end": True, "records": 0}


def test_an_unwritable_export_fails_in_one_line(tmp_path: Path) -> None:
    done = admin("export", "no/such/dir/out.jsonl", storage_url=None, cwd=tmp_path)

    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.startswith("loop-server admin: [Errno 2] No such file or directory")
    assert done.stderr.count("\n") == 1


def test_a_terminal_gets_a_progress_bar(tmp_path: Path) -> None:
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LOOP_")}
    try:
        done = subprocess.run(
            [str(LOOP_SERVER), "admin", "export", "out.jsonl"],
            env=environ,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=follower,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        os.set_blocking(leader, False)
        shown = os.read(leader, 65536).decode()  # the command has exited: all is buffered
    finally:
        os.close(follower)
        os.close(leader)

    assert done.returncode == 0
    assert "\rexport: 0 records [00:00" in shown
    assert shown.endswith("\r")  # the bar is erased when done
    assert done.stdout == "exported 0 records to out.jsonl\n"
