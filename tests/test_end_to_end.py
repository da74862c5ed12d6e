"""End to end: the real ``loop-server`` command, on a real socket, once per backend.

A client like the original load tests (``requests`` + ``requests-hawk``) registers with a
SimplePush URL on a local stand-in push service, creates a room, lets a link-clicker join
and then go silent, and expects the owner to be told of the drop-out within seconds:
the server must notice participant expiry by itself, on SQLite and on Redis.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from requests_hawk import HawkAuth  # type: ignore[import-untyped]

from tests.conftest import empty_storage
from tests.support.ports import free_port
from tests.support.push_server import PushServer
from tests.support.servers import console_command
from tests.support.waiting import eventually_blocking

PARTICIPANT_TTL = 1.0


@contextlib.contextmanager
def loop_server(storage_url: str, data_dir: Path, **env: str) -> Iterator[str]:
    """Run ``loop-server`` (the console command) and yield its ``/v0`` base URL."""
    port = free_port()
    settings = {
        "LOOP_PORT": str(port),
        "LOOP_STORAGE__URL": storage_url,
        "LOOP_DATA_DIR": str(data_dir),
        "LOOP_ROOMS__PARTICIPANT_TTL": str(PARTICIPANT_TTL),
        "LOOP_STORAGE__EXPIRY_CHECK_INTERVAL": "0.2",
        "LOOP_PUSH_SERVER_URIS": "[]",
        **env,
    }
    with console_command("loop-server", port, data_dir / f"server-{port}.log", settings):
        yield f"http://127.0.0.1:{port}/v0"


def hawk_auth(token: str, server: str) -> tuple[HawkAuth, HawkAuth]:
    """Auth for requests with a body (payload hash, as Firefox sends) and without one
    (requests-hawk cannot hash an absent body)."""
    return (
        HawkAuth(hawk_session=token, server_url=server),
        HawkAuth(hawk_session=token, server_url=server, always_hash_content=False),
    )


@pytest.fixture(params=["sqlite", "redis", "redis-cluster"])
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each backend, a Redis Cluster included."""
    return empty_storage(request, tmp_path)


@pytest.fixture
def push_service() -> Iterator[PushServer]:
    with PushServer() as server:
        yield server


def test_a_room_lives_through_the_real_server(
    storage_url: str, tmp_path: Path, push_service: PushServer
) -> None:
    with loop_server(storage_url, tmp_path) as server:
        registration = requests.post(
            f"{server}/registration",
            json={"simplePushURLs": {"rooms": push_service.url("/owner-rooms")}},
            timeout=5,
        )
        assert registration.status_code == 200
        token = registration.headers["Hawk-Session-Token"]
        assert len(token) == 64
        assert registration.headers["Date"]
        auth, auth_no_body = hawk_auth(token, server)

        created = requests.post(
            f"{server}/rooms",
            auth=auth,
            json={
                "roomOwner": "Alice",
                "maxSize": 2,
                "context": {"value": "v\r\nw", "alg": "AES-GCM", "wrappedKey": "k"},
            },
            timeout=5,
        )
        assert created.status_code == 201, created.text
        assert "Server-Authorization" in created.headers
        room_token = created.json()["roomToken"]
        eventually_blocking(lambda: len(push_service.requests) >= 1, what="the creation push")
        assert push_service.requests[0].method == "PUT"
        assert push_service.requests[0].path == "/owner-rooms"

        joined = requests.post(
            f"{server}/rooms/{room_token}",
            json={"action": "join", "displayName": "Bob", "clientMaxSize": 2},
            timeout=5,
        )
        assert joined.status_code == 200, joined.text
        assert joined.json()["expires"] == PARTICIPANT_TTL
        eventually_blocking(lambda: len(push_service.requests) >= 2, what="the join push")

        full = requests.get(f"{server}/rooms/{room_token}", auth=auth_no_body, timeout=5).json()
        assert [p["displayName"] for p in full["participants"]] == ["Bob"]
        assert full["context"]["value"] == "v\r\nw"

        # Bob never refreshes: the server must notice by itself and tell the owner.
        expired = "the participant-expiry push"
        eventually_blocking(lambda: len(push_service.requests) >= 3, what=expired)
        expiry_version = int(push_service.requests[2].form["version"])
        listed = requests.get(
            f"{server}/rooms", params={"version": expiry_version}, auth=auth_no_body, timeout=5
        ).json()
        assert [room["roomToken"] for room in listed] == [room_token]
        assert listed[0]["participants"] == []

        deleted = requests.delete(f"{server}/rooms/{room_token}", auth=auth_no_body, timeout=5)
        assert deleted.status_code == 204
        gone = requests.get(f"{server}/rooms/{room_token}", timeout=5)
        assert gone.status_code == 404
        assert gone.json() == {"code": 404, "errno": 105, "error": "Token not found."}


def test_sqlite_keeps_sessions_rooms_and_secrets_across_restarts(tmp_path: Path) -> None:
    storage_url = f"sqlite:///{tmp_path / 'loop.db'}"
    with loop_server(storage_url, tmp_path) as server:
        token = requests.post(f"{server}/registration", json={}, timeout=5).headers[
            "Hawk-Session-Token"
        ]
        auth, _ = hawk_auth(token, server)
        created = requests.post(
            f"{server}/rooms",
            auth=auth,
            json={"roomName": "kept", "roomOwner": "Alice", "maxSize": 3},
            timeout=5,
        )
        assert created.status_code == 201, created.text
        room_token = created.json()["roomToken"]
    with loop_server(storage_url, tmp_path) as server:
        _, auth_no_body = hawk_auth(token, server)
        rooms = requests.get(f"{server}/rooms", auth=auth_no_body, timeout=5)
        assert rooms.status_code == 200, rooms.text
        assert [room["roomToken"] for room in rooms.json()] == [room_token]
        assert rooms.json()[0]["roomName"] == "kept"


def test_a_wrong_setting_stops_the_server_with_its_name(tmp_path: Path) -> None:
    environ = {**os.environ, "LOOP_ROOMS__MAX_SIZE": "many", "LOOP_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "loop.cli"], env=environ, capture_output=True, timeout=30
    )
    assert result.returncode == 2
    assert b"rooms.max_size: expected an integer, got 'many'" in result.stderr
