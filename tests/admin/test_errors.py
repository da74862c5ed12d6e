"""Exit status and the one-line errors: 1 when the work fails (storage unreachable), 2 for
usage and configuration errors; never a traceback, never a password."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.admin.support import admin

COMMANDS = [["stats"], ["purge"], ["export", "out.jsonl"], ["secrets"], ["delete-user", "a@b.c"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_unreachable_redis_is_one_line_naming_the_address(
    command: list[str], refused_port: int, tmp_path: Path
) -> None:
    url = f"redis://127.0.0.1:{refused_port}/0"

    done = admin(*command, storage_url=url, cwd=tmp_path)

    assert (done.returncode, done.stdout) == (1, "")
    prefix = f"loop-server admin: storage unavailable at {url}: "
    assert done.stderr.startswith(prefix), done.stderr
    assert f"Error 111 connecting to 127.0.0.1:{refused_port}" in done.stderr
    assert done.stderr.count("\n") == 1
    assert not (tmp_path / "out.jsonl").exists()


def test_the_password_of_the_storage_url_is_never_printed(
    refused_port: int, tmp_path: Path
) -> None:
    url = f"redis://:hunter2@127.0.0.1:{refused_port}/0"

    done = admin("stats", storage_url=url, cwd=tmp_path)

    assert done.returncode == 1
    assert done.stderr.startswith(
        f"loop-server admin: storage unavailable at redis://:***@127.0.0.1:{refused_port}/0: "
    )
    assert "hunter2" not in done.stderr


def test_an_unopenable_sqlite_file_fails(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    url = f"sqlite:///{tmp_path / 'a-file' / 'loop.db'}"

    done = admin("stats", storage_url=url, cwd=tmp_path)

    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.startswith(f"loop-server admin: storage unavailable at {url}: ")
    assert done.stderr.count("\n") == 1


@pytest.mark.parametrize(
    "args",
    [[], ["frobnicate"], ["export"], ["stats", "--verbose"], ["import"]],
    ids=["no command", "unknown command", "missing file", "unknown flag", "import no file"],
)
def test_usage_errors_exit_2(args: list[str], tmp_path: Path) -> None:
    done = admin(*args, storage_url=None, cwd=tmp_path)

    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("usage: loop-server admin")
    assert "Traceback" not in done.stderr


def test_configuration_errors_exit_2(tmp_path: Path) -> None:
    bad_url = admin("stats", storage_url="mysql://db/loop", cwd=tmp_path)
    bad_value = admin(
        "stats", storage_url=None, cwd=tmp_path, env={"LOOP_STORAGE__TIMEOUT": "soon"}
    )
    missing = admin("--config", "nowhere.toml", "stats", storage_url=None, cwd=tmp_path)

    for done in (bad_url, bad_value, missing):
        assert (done.returncode, done.stdout) == (2, ""), done.stderr
        assert done.stderr.startswith("loop-server admin: configuration error: "), done.stderr
        assert done.stderr.count("\n") == 1
    assert "mysql" in bad_url.stderr
    assert "storage.timeout" in bad_value.stderr


def test_config_file_is_read_after_the_command_too(tmp_path: Path) -> None:
    (tmp_path / "loop.toml").write_text(f'[storage]\nurl = "sqlite:///{tmp_path}/x.db"\n')

    done = admin("stats", "--json", "--config", "loop.toml", storage_url=None, cwd=tmp_path)

    assert (done.returncode, done.stderr) == (0, "")
    assert (tmp_path / "x.db").exists()


def test_the_server_help_mentions_admin(tmp_path: Path) -> None:
    done = admin("--help", storage_url=None, cwd=tmp_path)

    assert done.returncode == 0
    for command in ("stats", "purge", "export", "import", "delete-user", "secrets"):
        assert command in done.stdout
