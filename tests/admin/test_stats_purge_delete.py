"""``admin stats``, ``purge`` and ``delete-user`` against data made through the HTTP API
(the in-process app on a real SQLite file or redis-server), read by the real command."""

from __future__ import annotations

import json
import re
from pathlib import Path

from loop.config import RoomsSettings
from tests.admin.support import admin, figures, zero_figures
from tests.routes.conftest import Harness
from tests.support.calls import sign_in
from tests.support.client import HawkSession
from tests.support.rooms import create_room, harness_with, joined, user_key

DAY = 24 * 3600
PUSH = {"calls": "https://push.example/calls", "rooms": "https://push.example/rooms"}
LABELS = [
    "users (identities with a live session)",
    "sessions",
    "rooms",
    "participants in rooms now",
    "calls",
    "call URLs",
    "push registrations",
]


async def scene(harness: Harness) -> dict[str, HawkSession]:
    """Alice signed in on two devices (push on one), Bob on one, and a guest; Alice owns two
    rooms (two link-clickers in one) and a call URL someone called; Bob owns a room."""
    client = harness.client
    alice = await sign_in(harness.services, client, "alice@example.com", PUSH)
    await sign_in(harness.services, client, "alice@example.com")
    bob = await sign_in(harness.services, client, "bob@example.com")
    guest = await client.register()
    busy = (await create_room(harness, alice))["roomToken"]
    await joined(harness, busy)
    await joined(harness, busy)
    await create_room(harness, alice)
    await create_room(harness, bob)
    link = await client.post("/call-url", json={"callerId": "c"}, hawk=alice)
    assert link.status_code == 200, link.text
    body = {"callType": "audio", "channel": "standalone"}
    call = await client.post(f"/calls/{link.json()['callToken']}", json=body)
    assert call.status_code == 200, call.text
    return {"alice": alice, "bob": bob, "guest": guest}


def test_a_fresh_clone_has_figures(tmp_path: Path) -> None:
    done = admin("stats", storage_url=None, cwd=tmp_path)

    assert (done.returncode, done.stderr) == (0, "")
    lines = done.stdout.splitlines()
    assert [line.rsplit("  ", 1)[0].rstrip() for line in lines[:7]] == LABELS
    assert [line.split()[-1] for line in lines[:7]] == ["0"] * 7
    assert re.fullmatch(r"storage \(SQLite files\) +\d+ bytes \(\d+\.\d KiB\)", lines[7])
    assert len(lines) == 8
    assert (tmp_path / "loop-data" / "loop.db").exists()


async def test_stats_count_what_the_api_made(storage_url: str, tmp_path: Path) -> None:
    async with harness_with(storage_url) as harness:
        await scene(harness)

        counts = figures(storage_url, tmp_path)
        text = admin("stats", storage_url=storage_url, cwd=tmp_path).stdout

    assert counts == {
        "users": 2,
        "sessions": 4,
        "rooms": 3,
        "participants": 2,
        "calls": 1,
        "call_urls": 1,
        "push_registrations": 4,  # sign_in registers as the guest device, then as Alice
    }
    assert re.search(r"^rooms +3$", text, re.MULTILINE)
    size = (
        r"^storage \(SQLite files\) +\d+ bytes"
        if "sqlite" in storage_url
        else r"^Redis keys +\d+$"
    )
    assert re.search(size, text, re.MULTILINE)


async def test_stats_json_names_the_backend_and_its_size(storage_url: str, tmp_path: Path) -> None:
    async with harness_with(storage_url):
        done = admin("stats", "--json", storage_url=storage_url, cwd=tmp_path)

    answer = json.loads(done.stdout)
    backend = "sqlite" if storage_url.startswith("sqlite") else "redis"
    assert answer["backend"] == backend
    assert answer["size_bytes"] > 0
    assert (answer["keys"] is None) == (backend == "sqlite")


async def test_delete_user_forgets_everything_of_that_identity(
    storage_url: str, tmp_path: Path
) -> None:
    async with harness_with(storage_url) as harness:
        sessions = await scene(harness)

        done = admin("delete-user", "Alice@Example.com", storage_url=storage_url, cwd=tmp_path)

        assert (done.returncode, done.stderr) == (0, "")
        assert done.stdout == (
            "deleted the user's data: 2 sessions, 2 rooms, 2 participants in rooms now, "
            "1 calls, 1 call URLs, 4 push registrations\n"
        )
        assert figures(storage_url, tmp_path) == {
            **zero_figures(),
            **{"users": 1, "sessions": 2, "rooms": 1},
        }
        gone = await harness.client.get("/rooms", hawk=sessions["alice"])
        assert gone.status_code == 401
        kept = await harness.client.get("/rooms", hawk=sessions["bob"])
        assert kept.status_code == 200 and len(kept.json()) == 1


async def test_delete_user_of_an_unknown_identity_changes_nothing(
    storage_url: str, tmp_path: Path
) -> None:
    async with harness_with(storage_url) as harness:
        await scene(harness)
        before = figures(storage_url, tmp_path)

        done = admin("delete-user", "carol@example.com", storage_url=storage_url, cwd=tmp_path)

        assert (done.returncode, done.stdout) == (0, "no data was filed under that identity\n")
        assert figures(storage_url, tmp_path) == before


async def test_purge_removes_expired_data_and_keeps_the_rest(
    storage_url: str, tmp_path: Path
) -> None:
    rooms = RoomsSettings(participant_ttl=60, extend_ttl=1)  # a join extends by one hour
    async with harness_with(storage_url, hawk_session_duration=3600, rooms=rooms) as harness:
        live = await harness.client.register()
        await create_room(harness, live)
        # What is made two days ago has expired by the real now; nothing is written after,
        # so no request-path purge (SQLite's, at each write) gets to it first.
        harness.clock.advance(-2 * DAY)
        old = await harness.client.register()
        old_room = await create_room(harness, old, expiresIn=1)
        await joined(harness, old_room["roomToken"])
        link = await harness.client.post(
            "/call-url", json={"callerId": "c", "expiresIn": 1}, hawk=old
        )
        assert link.status_code == 200, link.text
        harness.clock.advance(2 * DAY)
        before = figures(storage_url, tmp_path)

        done = admin("purge", storage_url=storage_url, cwd=tmp_path)
        again = admin("purge", storage_url=storage_url, cwd=tmp_path)

        assert (done.returncode, done.stderr) == (0, "")
        removed = done.stdout.splitlines()
        for line in ("removed 1 sessions", "removed 1 rooms", "removed 1 call URLs"):
            assert line in removed, done.stdout
        assert (again.returncode, again.stdout) == (0, "nothing expired to remove\n")
        assert (
            figures(storage_url, tmp_path)
            == before
            == {
                **zero_figures(),
                **{"sessions": 1, "rooms": 1},
            }
        )
        storage, now = harness.services.storage, harness.clock.now() - 2 * DAY
        assert await storage.get_room(old_room["roomToken"], now=now) is None
        assert await storage.list_call_urls(user_key(harness, old), now=now) == []
