"""Start-up errors are one clear line naming the setting and the cause, never a traceback
(issue 11.8); and the real ``loop-server`` logs no token at DEBUG (issue 12.6).

The console commands run for real, as subprocesses with a clean environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import requests
from starlette.applications import Starlette
from starlette.types import Message
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from loop.config import ConfigError
from loop.storage import BackendError
from loop.web.startup import StartupGuard, redacted_url
from tests.support.ports import free_port
from tests.support.servers import console_command
from tests.support.waiting import DEADLINE

RUN_TIMEOUT = 60


def run(
    command: str, *args: str, env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("LOOP_", "MSISDN_"))}
    return subprocess.run(
        [str(Path(sys.executable).parent / command), *args],
        env=environ | env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )


def one_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def test_check_refuses_an_unsupported_storage_scheme(tmp_path: Path) -> None:
    config = tmp_path / "loop.toml"
    config.write_text('[storage]\nurl = "postgres://x"\n')
    result = run("loop-server", "--check", "--config", str(config), env={}, cwd=tmp_path)
    assert result.returncode == 2
    assert one_line(result.stderr) == (
        "loop-server: configuration error: storage.url: unsupported scheme 'postgres' "
        "(use sqlite:// or redis://)"
    )
    assert result.stdout == ""


def test_an_unreachable_redis_is_one_line_naming_its_address(
    tmp_path: Path, refused_port: int
) -> None:
    url = f"redis://:hunter2@127.0.0.1:{refused_port}/0"
    env = {
        "LOOP_STORAGE__URL": url,
        "LOOP_PORT": str(free_port()),
        "LOOP_DATA_DIR": str(tmp_path),
        "LOOP_PUSH_SERVER_URIS": "[]",
    }
    result = run("loop-server", env=env, cwd=tmp_path)
    assert result.returncode == 3
    line = one_line(result.stderr)
    assert line.startswith(
        f"loop-server: start-up error: storage.url: storage unreachable at "
        f"redis://:***@127.0.0.1:{refused_port}/0 (redis.exceptions.ConnectionError: "
    ), line
    assert "hunter2" not in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    # the log (stdout, MozLog) says it once too, as one record
    logged = [json.loads(line)["Fields"]["msg"] for line in result.stdout.splitlines()]
    assert line.removeprefix("loop-server: start-up error: ") in logged


def test_the_gateway_check_refuses_a_configuration_without_sms_provider(tmp_path: Path) -> None:
    result = run("loop-msisdn", "--check", env={}, cwd=tmp_path)
    assert result.returncode == 2
    assert one_line(result.stderr) == (
        "loop-msisdn: configuration error: sms_gateways: no SMS provider has a non-zero "
        "priority (configure nexmo, or for development MSISDN_SMS_GATEWAYS__LOG__PRIORITY=1)"
    )


def test_check_refuses_a_mounted_gateway_without_sms_provider(tmp_path: Path) -> None:
    result = run("loop-server", "--check", env={"LOOP_MSISDN__MOUNT": "true"}, cwd=tmp_path)
    assert result.returncode == 2
    assert one_line(result.stderr).startswith(
        "loop-server: configuration error: sms_gateways: no SMS provider"
    )


def test_the_gateway_with_an_unreachable_redis_is_one_line(
    tmp_path: Path, refused_port: int
) -> None:
    env = {
        "MSISDN_STORAGE__URL": f"redis://127.0.0.1:{refused_port}/0",
        "MSISDN_PORT": str(free_port()),
        "MSISDN_DATA_DIR": str(tmp_path),
        "MSISDN_SMS_GATEWAYS__LOG__PRIORITY": "1",
    }
    result = run("loop-msisdn", env=env, cwd=tmp_path)
    assert result.returncode == 3
    assert one_line(result.stderr).startswith(
        "loop-msisdn: start-up error: storage.url: storage unreachable at "
        f"redis://127.0.0.1:{refused_port}/0 ("
    )
    assert "Traceback" not in result.stdout + result.stderr


def test_a_data_dir_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    env = {"LOOP_DATA_DIR": str(blocker / "data"), "LOOP_PORT": str(free_port())}
    result = run("loop-server", env=env, cwd=tmp_path)
    assert result.returncode == 3
    assert one_line(result.stderr) == (
        f"loop-server: start-up error: data_dir: cannot create '{blocker / 'data'}' "
        "(Not a directory)"
    )


def test_the_real_server_logs_no_token_at_debug(tmp_path: Path) -> None:
    """The console command's own logging set-up (uvicorn's included): tokens in paths,
    query strings and websocket URLs stay out of its output."""
    port = free_port()
    env = {
        "LOOP_PORT": str(port),
        "LOOP_DATA_DIR": str(tmp_path),
        "LOOP_PUSH_SERVER_URIS": "[]",
        "LOOP_LOGGING__LEVEL": "DEBUG",
        "LOOP_PUBLIC_SERVER_ADDRESS": f"127.0.0.1:{port}",
    }
    secret = "Zq7SecretTok"
    log = tmp_path / "server.log"
    with console_command("loop-server", port, log, env):
        base = f"http://127.0.0.1:{port}"
        registered = requests.post(f"{base}/registration", json={}, timeout=5)
        session = registered.headers["Hawk-Session-Token"]
        body: dict[str, Any] = {"action": "join", "displayName": "G", "clientMaxSize": 2}
        joined = requests.post(f"{base}/v0/rooms/{secret}?token={secret}", json=body, timeout=5)
        assert joined.status_code == 404
        requests.get(f"{base}/{secret}/{session}", timeout=5)
        asyncio.run(open_sockets(port, secret))
    output = log.read_text()
    assert '"path":"/v0/rooms/{token}"' in output
    sockets = [
        (entry["Fields"]["path"], entry["Fields"]["code"])
        for entry in map(json.loads, output.splitlines())
        if entry["Fields"]["msg"] == "websocket.summary"
    ]
    assert sorted(sockets) == [
        ("/signalling", 101),
        ("unmatched", 403),
        ("{progress_url_endpoint}", 101),
    ]
    assert secret not in output and session not in output
    assert "Traceback" not in output and "\x1b" not in output


async def open_sockets(port: int, secret: str) -> None:
    for path in ("websocket", "signalling"):
        url = f"ws://127.0.0.1:{port}/{path}?token={secret}"
        async with connect(url, open_timeout=DEADLINE) as ws:
            await ws.send(json.dumps({"messageType": "hello", "type": "hello", "token": secret}))
            await asyncio.wait_for(ws.recv(), DEADLINE)
    with pytest.raises(InvalidStatus):
        await connect(f"ws://127.0.0.1:{port}/{secret}?token={secret}", open_timeout=DEADLINE)


# -- the guard, in process -------------------------------------------------------------------


def failing_app(error: Exception) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        raise error
        yield  # pragma: no cover

    return Starlette(lifespan=lifespan)


async def start(guard: StartupGuard) -> list[Message]:
    """Run the lifespan protocol's start-up through ``guard``; what it sent to the server."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        sent.append(message)

    await guard({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)
    return sent


@pytest.mark.parametrize(
    ("error", "line", "misconfigured"),
    [
        (
            BackendError(ConnectionRefusedError(111, "Connection refused")),
            "storage.url: storage unreachable at redis://:***@db.internal:6380/1 "
            "(ConnectionRefusedError: [Errno 111] Connection refused)",
            False,
        ),
        (
            BackendError(TimeoutError()),
            "storage.url: storage unreachable at redis://:***@db.internal:6380/1 (TimeoutError)",
            False,
        ),
        (
            ConfigError("hawk_id_secret: differs from\nthe stored one"),
            "hawk_id_secret: differs from the stored one",
            True,
        ),
        (RuntimeError("odd\nthing"), "RuntimeError: odd thing", False),
    ],
)
async def test_the_guard_turns_a_start_up_failure_into_one_line(
    error: Exception, line: str, misconfigured: bool
) -> None:
    guard = StartupGuard(failing_app(error), storage_url="redis://:pw@db.internal:6380/1")
    sent = await start(guard)
    assert sent == [{"type": "lifespan.startup.failed", "message": line}]
    assert (guard.failure, guard.misconfigured) == (line, misconfigured)


def test_redacted_url_keeps_everything_but_the_password() -> None:
    assert redacted_url("redis://user:pw@h:1/0") == "redis://user:***@h:1/0"
    assert redacted_url("redis://h:1/0") == "redis://h:1/0"
    assert redacted_url("sqlite:///data/loop.db") == "sqlite:///data/loop.db"
    assert redacted_url("redis://u:pw@h:port/0") == "redis://…"
