"""The settings are documented once, in their declarations, and everything an operator
reads is written from there: ``--sample-config``, ``loop.sample.toml``,
``msisdn.sample.toml`` and the README's table. These tests fail when a copy drifts
(``scripts/settings-docs`` rewrites them) or a setting ships without a meaning."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from loop.config import Settings, load_settings
from loop.msisdn.config import load_msisdn_settings
from loop.runner import package_version
from loop.settings_sample import README_END, README_START, settings_table, walk

ROOT = Path(__file__).resolve().parent.parent


def command_output(module: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    return result.stdout


@pytest.mark.parametrize(
    ("module", "sample"),
    [("loop.cli", "loop.sample.toml"), ("loop.msisdn.cli", "msisdn.sample.toml")],
)
def test_checked_in_sample_is_what_the_command_prints(module: str, sample: str) -> None:
    printed = command_output(module, "--sample-config")
    assert (ROOT / sample).read_text("utf-8") == printed, "run scripts/settings-docs"


def test_loop_sample_loads_as_the_defaults(tmp_path: Path) -> None:
    assert load_settings(ROOT / "loop.sample.toml", environ={}) == load_settings(None, environ={})


def test_msisdn_sample_loads_as_the_defaults() -> None:
    """With an SMS provider, which the gateway cannot start without and has none by default."""
    provider = {"MSISDN_SMS_GATEWAYS__LOG__PRIORITY": "1"}
    assert load_msisdn_settings(ROOT / "msisdn.sample.toml", environ=provider) == (
        load_msisdn_settings(None, environ=provider)
    )


def test_sample_sets_every_setting() -> None:
    sample = tomllib.loads((ROOT / "loop.sample.toml").read_text("utf-8"))
    for setting in walk(Settings):
        node = sample
        for part in setting.key.split("."):
            assert part in node, f"{setting.key} missing from loop.sample.toml"
            node = node[part]


def test_readme_table_is_written_from_the_settings() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    between = readme.split(README_START, 1)[1].split(README_END, 1)[0]
    assert between == "\n" + settings_table(Settings), "run scripts/settings-docs"


def test_every_loop_setting_says_what_it_means() -> None:
    undocumented = [setting.key for setting in walk(Settings) if not setting.doc]
    assert undocumented == []


def test_table_lists_each_setting_once_with_its_default() -> None:
    table = settings_table(Settings)
    assert "| `storage.timeout` | `2.0` |" in table
    assert "| `rooms.participant_ttl` | `300` |" in table
    assert "| `push_server_uris` | `[]` |" in table
    keys = [line.split("`")[1] for line in table.splitlines()[2:]]
    assert len(keys) == len(set(keys)) == len(list(walk(Settings)))


def test_mozilla_profile_loads_and_names_the_original_endpoints() -> None:
    settings = load_settings(ROOT / "docs" / "profiles" / "mozilla.toml", environ={})
    assert settings.push_server_uris == ["wss://push.services.mozilla.com/"]
    assert settings.fxa_verifier == "https://verifier.accounts.firefox.com/v2"


@pytest.mark.parametrize(
    ("module", "prog"), [("loop.cli", "loop-server"), ("loop.msisdn.cli", "loop-msisdn")]
)
def test_version_flag(module: str, prog: str) -> None:
    assert command_output(module, "--version") == f"{prog} {package_version()}\n"
    assert package_version().count(".") >= 2
