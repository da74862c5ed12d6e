"""What each stored thing costs, and whether the store stays flat under churn.

Through the storage interface the server uses, on a fresh SQLite file and a fresh
redis-server, with values of the sizes real requests make (64-hex ids and keys, 11-character
room tokens, an encrypted room context, SimplePush URLs):

* **per thing**: the growth of the SQLite file (after a WAL checkpoint) and of Redis's
  ``used_memory`` for N sessions with two push targets, N rooms, N participants, N calls,
  divided by N; then what 1 million registered devices and 100,000 rooms with two people
  in each would take;
* **churn**: rounds of create → join ×2 → one leaves → half the rooms deleted, the other
  half left to expire (the clock jumps past their expiry), then the purge; the sizes after
  each round should stop growing once the first rounds have sized the store.

    .venv/bin/python bench/storage_cost.py --count 5000 --rounds 6
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import secrets
import sqlite3
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis  # noqa: E402

from loop.storage import Storage, from_url  # noqa: E402
from loop.storage.calls import Call  # noqa: E402
from loop.storage.rooms import Participant, Room  # noqa: E402
from loop.storage.sessions import Session  # noqa: E402
from loop.storage.testing.factories import join  # noqa: E402
from tests.support.redis_server import redis_server  # noqa: E402

T0 = 1_800_000_000.0
HOUR = 3600
MONTH = 30 * 24 * HOUR
PUSH = "https://updates.push.services.mozilla.com/update/" + "x" * 40


def hex_id() -> str:
    return secrets.token_hex(32)


def room_token() -> str:
    return base64.urlsafe_b64encode(os.urandom(8)).decode().rstrip("=")


def session() -> Session:
    identity = base64.b64encode(os.urandom(72)).decode()  # an encrypted e-mail
    return Session(hex_id(), hex_id(), user_mac=hex_id(), encrypted_identity=identity)


def room(token: str, now: float, ttl: float = 24 * HOUR) -> Room:
    return Room(
        token=token,
        owner=hex_id(),
        room_owner="Alice",
        max_size=5,
        expires_in=int(ttl // HOUR),
        creation_time=int(now),
        update_time=int(now),
        expires_at=int(now + ttl),
        channel="default",
        session_id=f"webrtc-{room_token()}",
        api_key="webrtc",
        room_name=None,
        context={
            "value": base64.b64encode(os.urandom(150)).decode(),
            "alg": "AES-GCM",
            "wrappedKey": base64.b64encode(os.urandom(60)).decode(),
        },
    )


def participant(now: float) -> Participant:
    return Participant(
        id=str(uuid.uuid4()),
        connection_id=str(uuid.uuid4()),
        display_name="Bob",
        client_max_size=5,
        expires_at=now + 300,
        user=None,
        account=None,
    )


def call(now: float) -> Call:
    call_id = secrets.token_hex(16)
    return Call(
        call_id=call_id,
        call_type="audio-video",
        timestamp=int(now),
        expires_at=now + 60,
        api_key="webrtc",
        session_id=f"webrtc-{room_token()}",
        callee_token=secrets.token_urlsafe(32),
        ws_caller_token=secrets.token_hex(16),
        ws_callee_token=secrets.token_hex(16),
        caller_id="alice@example.com",
        subject="hi",
    )


class Store:
    """A storage and how big it is right now."""

    def __init__(self, storage: Storage, size: Callable[[], Awaitable[int]]) -> None:
        self.storage = storage
        self.size = size


@contextlib.asynccontextmanager
async def opened(backend: str, workdir: Path) -> AsyncIterator[Store]:
    if backend == "sqlite":
        path = workdir / f"cost-{secrets.token_hex(4)}.db"
        storage = await from_url(f"sqlite:///{path}")

        async def sqlite_size() -> int:
            with sqlite3.connect(path) as db:
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return path.stat().st_size

        try:
            yield Store(storage, sqlite_size)
        finally:
            await storage.close()
        return
    with redis_server() as url:
        storage = await from_url(url)
        client = redis.Redis.from_url(url)

        async def redis_size() -> int:
            return int(client.info("memory")["used_memory"])

        try:
            yield Store(storage, redis_size)
        finally:
            client.close()
            await storage.close()


async def per_thing(store: Store, count: int) -> dict[str, float]:
    """Bytes per session (with two push targets), room, participant and call."""
    storage, costs = store.storage, {}
    await storage.ensure_secrets({"hawk_id_secret": hex_id()})
    before = await store.size()
    for _ in range(count):
        device = session()
        await storage.create_session(device, now=T0, ttl=MONTH)
        await storage.register_push(device, {"rooms": PUSH, "calls": PUSH}, now=T0, ttl=MONTH)
    after = await store.size()
    costs["session"] = (after - before) / count
    tokens = [room_token() for _ in range(count)]
    for token in tokens:
        await storage.create_room(room(token, T0), now=T0)
    before, after = after, await store.size()
    costs["room"] = (after - before) / count
    for token in tokens:
        await join(storage, token, participant(T0), now=T0)
    before, after = after, await store.size()
    costs["participant"] = (after - before) / count
    for _ in range(count):
        await storage.create_call(call(T0), callees=[hex_id()], reachable_only=False, now=T0)
    before, after = after, await store.size()
    costs["call"] = (after - before) / count
    return {name: round(cost) for name, cost in costs.items()}


async def churn(store: Store, per_round: int, rounds: int) -> list[int]:
    """The store's size after each round of churn and purge (the clock a day on each)."""
    storage, sizes = store.storage, []
    await storage.ensure_secrets({"hawk_id_secret": hex_id()})
    for index in range(rounds):
        now = T0 + index * 24 * HOUR
        created_rooms = [room(room_token(), now, ttl=HOUR) for _ in range(per_round)]
        for created in created_rooms:
            token = created.token
            await storage.create_room(created, now=now)
            for _ in range(2):
                await join(storage, token, participant(now), now=now)
        for deleted in created_rooms[: per_round // 2]:
            await storage.delete_room(
                deleted.token, owner=deleted.owner, now=now, deleted_ttl=1620
            )
        later = now + 2 * HOUR  # past every room's and participant's expiry
        await storage.purge_expired(now=later)
        sizes.append(await store.size())
    return sizes


async def measure(backend: str, count: int, rounds: int, workdir: Path) -> dict[str, Any]:
    async with opened(backend, workdir) as store:
        costs = await per_thing(store, count)
    async with opened(backend, workdir) as store:
        sizes = await churn(store, count // 2, rounds)
    devices, rooms = 1_000_000, 100_000
    estimate = devices * costs["session"] + rooms * (costs["room"] + 2 * costs["participant"])
    return {
        "backend": backend,
        "bytes_per": costs,
        "one_million_devices_and_100k_rooms_of_two_mib": round(estimate / 2**20),
        "churn_sizes_kib": [round(size / 1024) for size in sizes],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "redis", "both"], default="both")
    parser.add_argument("--count", type=int, default=5000, help="things of each kind")
    parser.add_argument("--rounds", type=int, default=6, help="churn rounds")
    args = parser.parse_args()
    backends = ["sqlite", "redis"] if args.backend == "both" else [args.backend]
    with tempfile.TemporaryDirectory(prefix="loop-cost-") as tmp:
        for backend in backends:
            result = asyncio.run(measure(backend, args.count, args.rounds, Path(tmp)))
            print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
