"""Hawk sessions across server processes (decision D33): each process remembers the
sessions it has seen and verifies their MACs from memory, while the store confirms the
session in the same call as the request's work. So a session ended through one process is
refused by another at its very next request, and a replayed request is refused whichever
process it reaches. Two real ``loop-server`` processes on one Redis."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.support.client import assert_error
from tests.support.rooms import ROOM
from tests.test_calls_multiprocess import client, two_servers


async def test_an_account_deleted_through_one_process_is_refused_by_the_other(
    redis_url: str, tmp_path: Path
) -> None:
    with two_servers(redis_url, tmp_path) as (first, second):
        async with client(first) as a, client(second) as b:
            guest = await a.register()
            created = await a.post("/rooms", json=ROOM, hawk=guest)
            assert created.status_code == 201  # the first process remembers the session
            deleted = await b.delete("/account", hawk=guest)
            assert deleted.status_code == 204
            refused = await a.post("/rooms", json=ROOM, hawk=guest)
            assert_error(refused, 401, 110, "Unknown credentials")
            listed = await b.get("/rooms", hawk=guest)
            assert_error(listed, 401, 110, "Unknown credentials")


async def test_a_request_replayed_to_the_other_process_is_refused(
    redis_url: str, tmp_path: Path
) -> None:
    with two_servers(redis_url, tmp_path) as (first, second):
        async with client(first) as a, client(second) as b:
            guest = await a.register()
            assert (await a.get("/rooms", hawk=guest)).status_code == 200
            assert (await b.get("/rooms", hawk=guest)).status_code == 200  # both remember it
            body = json.dumps(ROOM).encode()
            url = first.rstrip("/") + "/rooms"
            headers = {
                "Authorization": a.hawk_header(guest, url, "POST", body, "application/json"),
                "Content-Type": "application/json",
                "Host": httpx.URL(first).netloc.decode(),  # as signed: one public address
            }
            once = await a.http.post("/rooms", content=body, headers=headers)
            assert once.status_code == 201
            replayed = await b.http.post("/rooms", content=body, headers=headers)
            assert_error(replayed, 401, 110, "Invalid nonce")
            rooms = (await b.get("/rooms", hawk=guest)).json()
            assert len(rooms) == 1
