"""``admin export`` / ``import``: a store moved SQLite → Redis → SQLite by the real
commands keeps working for the real server (the same Hawk session, room token and call
URL, the secrets travelling with the dump); bad dumps and non-empty targets are refused."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import redis
import requests
from requests_hawk import HawkAuth  # type: ignore[import-untyped]

from tests.admin.support import admin, figures, zero_figures
from tests.support.ports import free_port
from tests.support.rooms import ROOM
from tests.support.servers import console_command

NO_SECRETS: dict[str, str] = {}
"""Nothing configured: the servers generate their secrets, which the dump must carry."""


@contextlib.contextmanager
def loop_server(storage_url: str, data_dir: Path) -> Iterator[str]:
    """The real ``loop-server`` on ``storage_url``; its ``/v0`` base URL."""
    data_dir.mkdir(exist_ok=True)
    port = free_port()
    env = {
        "LOOP_PORT": str(port),
        "LOOP_STORAGE__URL": storage_url,
        "LOOP_DATA_DIR": str(data_dir),
        "LOOP_PUSH_SERVER_URIS": "[]",
        "LOOP_FXA_VERIFIER": "",
    }
    with console_command("loop-server", port, data_dir / f"server-{port}.log", env):
        yield f"http://127.0.0.1:{port}/v0"


class Owner:
    """A room owner's Hawk session, as requests-hawk signs for Firefox."""

    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token
        self.signed = HawkAuth(hawk_session=token, server_url=base)
        self.unsigned_body = HawkAuth(
            hawk_session=token, server_url=base, always_hash_content=False
        )

    def get(self, path: str) -> requests.Response:
        return requests.get(f"{self.base}{path}", auth=self.unsigned_body, timeout=10)

    def post(self, path: str, body: dict[str, Any]) -> requests.Response:
        return requests.post(f"{self.base}{path}", auth=self.signed, json=body, timeout=10)


def make_data(base: str) -> tuple[str, str, str]:
    """A guest session owning a room and a call URL: (session token, room, call token)."""
    registered = requests.post(f"{base}/registration", json={}, timeout=10)
    assert registered.status_code == 200, registered.text
    owner = Owner(base, registered.headers["Hawk-Session-Token"])
    room = owner.post("/rooms", ROOM)
    assert room.status_code == 201, room.text
    url = owner.post("/call-url", {"callerId": "alice"})
    assert url.status_code == 200, url.text
    return owner.token, room.json()["roomToken"], url.json()["callToken"]


def seen_by(base: str, session: str, room: str) -> dict[str, Any]:
    """What the owner's session reads of its room and call URLs."""
    owner = Owner(base, session)
    answers = {"room": owner.get(f"/rooms/{room}"), "urls": owner.get("/call-url")}
    for answer in answers.values():
        assert answer.status_code == 200, answer.text
    return {name: answer.json() for name, answer in answers.items()}


def check_data(base: str, session: str, room: str, call: str, expected: dict[str, Any]) -> None:
    """The same session reads the same room and call URLs; the room token lets a
    link-clicker in and the call token still names its link."""
    assert seen_by(base, session, room) == expected
    join: dict[str, Any] = {"action": "join", "displayName": "Bob", "clientMaxSize": 5}
    joined = requests.post(f"{base}/rooms/{room}", json=join, timeout=10)
    assert joined.status_code == 200, joined.text
    link = requests.get(f"{base}/calls/{call}", timeout=10)
    assert link.status_code == 200, link.text


def dump_records(path: Path) -> list[Any]:
    """A dump's records, without the header (whose backend and time differ)."""
    return [json.loads(line) for line in path.read_text().splitlines()[1:]]


def flush(redis_url: str) -> None:
    with redis.Redis.from_url(redis_url) as client:
        client.flushdb()


def test_sqlite_to_redis_and_back_keeps_sessions_rooms_and_tokens(
    tmp_path: Path, redis_url: str
) -> None:
    flush(redis_url)
    first = f"sqlite:///{tmp_path / 'first.db'}"
    with loop_server(first, tmp_path / "one") as base:
        session, room, call = make_data(base)
        expected = seen_by(base, session, room)

    exported = admin("export", "first.jsonl", storage_url=first, cwd=tmp_path, env=NO_SECRETS)
    imported = admin("import", "first.jsonl", storage_url=redis_url, cwd=tmp_path, env=NO_SECRETS)
    again = admin("export", "second.jsonl", storage_url=redis_url, cwd=tmp_path, env=NO_SECRETS)

    records = dump_records(tmp_path / "first.jsonl")
    kinds = [record.get("kind") for record in records]
    assert kinds == ["secret"] * 6 + ["session", "room", "call_url", None]
    assert exported.stdout == f"exported {len(records) - 1} records to first.jsonl\n"
    assert imported.stdout == (
        "imported 9 records from first.jsonl (6 secret, 1 session, 1 room, 1 call_url)\n"
    )
    assert (exported.stderr, imported.stderr, again.stderr) == ("", "", "")
    assert dump_records(tmp_path / "second.jsonl") == records
    with loop_server(redis_url, tmp_path / "two") as base:
        check_data(base, session, room, call, expected)
        expected = seen_by(base, session, room)  # Bob is in the room now

    third = f"sqlite:///{tmp_path / 'third.db'}"
    back = admin("export", "third.jsonl", storage_url=redis_url, cwd=tmp_path, env=NO_SECRETS)
    loaded = admin("import", "third.jsonl", storage_url=third, cwd=tmp_path, env=NO_SECRETS)
    assert (back.returncode, loaded.returncode) == (0, 0)
    with loop_server(third, tmp_path / "three") as base:
        check_data(base, session, room, call, expected)


def test_import_refuses_a_store_that_holds_data(storage_url: str, tmp_path: Path) -> None:
    source = f"sqlite:///{tmp_path / 'source.db'}"
    assert admin("export", "empty.jsonl", storage_url=source, cwd=tmp_path).returncode == 0
    with loop_server(storage_url, tmp_path / "target") as base:
        make_data(base)

    refused = admin("import", "empty.jsonl", storage_url=storage_url, cwd=tmp_path)
    forced = admin("import", "empty.jsonl", "--force", storage_url=storage_url, cwd=tmp_path)

    assert (refused.returncode, refused.stdout) == (1, "")
    assert refused.stderr == (
        "loop-server admin: the store already holds data; import into an empty one, or --force\n"
    )
    assert (forced.returncode, forced.stderr) == (0, "")
    assert forced.stdout == "imported 0 records from empty.jsonl (nothing)\n"


def _dump(*lines: str) -> str:
    return "".join(f"{line}\n" for line in lines)


HEADER = '{"format":"loop-server-dump","version":1,"exported_at":0,"backend":"sqlite"}'
SECRET = '{"kind":"secret","name":"hawk_id_secret","value":"x"}'
BAD_DUMPS = {
    "garbage": ("not json at all\n", "line 1: not JSON"),
    "empty": ("", "empty file: not a loop-server dump"),
    "no header": (_dump(SECRET), "line 1: not a loop-server dump (no header)"),
    "newer": (
        _dump(HEADER.replace('"version":1', '"version":2')),
        "line 1: dump version 2; this server reads version 1",
    ),
    "truncated": (_dump(HEADER, SECRET), "truncated: no trailer after 1 records"),
    "miscounted": (
        _dump(HEADER, SECRET, '{"end":true,"records":2}'),
        "line 3: the trailer counts 2, not 1",
    ),
    "unknown kind": (
        _dump(HEADER, '{"kind":"spaceship"}', '{"end":true,"records":1}'),
        "line 2: unknown record kind 'spaceship'",
    ),
    "wrong type": (
        _dump(HEADER, '{"kind":"secret","name":"a","value":7}', '{"end":true,"records":1}'),
        "line 2: secret: value has the wrong type",
    ),
    "wrong nested type": (
        _dump(
            HEADER,
            '{"kind":"call","call":{},"users":[],"markers":[],"reason":null,'
            '"callers":0,"callees":0}',
            '{"end":true,"records":1}',
        ),
        "line 2: call.call: missing fields ['api_key', 'call_id',",
    ),
    "missing field": (
        _dump(HEADER, '{"kind":"secret","name":"a"}', '{"end":true,"records":1}'),
        "line 2: secret: missing fields ['value'], unknown fields []",
    ),
}


def test_bad_dumps_are_refused_in_one_line_and_change_nothing(
    storage_url: str, tmp_path: Path
) -> None:
    for name, (text, reason) in BAD_DUMPS.items():
        (tmp_path / "bad.jsonl").write_text(text)

        done = admin("import", "bad.jsonl", storage_url=storage_url, cwd=tmp_path)

        assert (done.returncode, done.stdout) == (1, ""), name
        assert done.stderr.startswith(f"loop-server admin: bad.jsonl: {reason}"), done.stderr
        assert done.stderr.count("\n") == 1, name
    missing = admin("import", "nowhere.jsonl", storage_url=storage_url, cwd=tmp_path)
    assert (missing.returncode, missing.stderr) == (
        1,
        "loop-server admin: nowhere.jsonl: cannot read nowhere.jsonl: No such file or directory\n",
    )
    assert figures(storage_url, tmp_path) == zero_figures()
