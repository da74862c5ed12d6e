"""The multiplexed lane on a real redis-server: the commands of one turn of the event loop
go out in one write and every caller gets its own reply, whatever the others' replies
(errors, cancelled callers); a frozen Redis fails every waiting caller by the oldest one's
deadline and the next call opens a fresh connection; a restarted Redis gets a command
sent on the stale connection once more, never twice."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable
from typing import Any

import pytest
import redis
import redis.asyncio
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError

from loop.storage.redis import connection_pool, lane_connection_options
from loop.storage.redis.lane import CLOCK_SLACK, Lane
from tests.support.redis_server import RedisServer
from tests.support.waiting import eventually

TIMEOUT = 1.0
"""The lane's deadline in the tests that wait it out."""
MARGIN = 1.0
"""Scheduling slack on a busy two-core machine."""
ECHO = b"\r\nECHO\r\n"
"""How an ``ECHO`` command looks packed: counted in what goes out."""


class CountingConnection(redis.asyncio.Connection):
    """A redis-py connection that records, for each write the lane asks of it, how many
    ``ECHO`` commands it carried."""

    writes: list[int]

    async def send_packed_command(
        self, command: bytes | str | Iterable[bytes], check_health: bool = True
    ) -> None:
        packed = command if isinstance(command, bytes | str) else b"".join(command)
        if isinstance(packed, bytes):
            self.writes.append(packed.count(ECHO))
        await super().send_packed_command(command, check_health)


class Lanes:
    """Builds lanes on one server as :func:`loop.storage.redis.from_url` does, with
    connections that count their writes; closes them all at the end."""

    def __init__(self, server: RedisServer) -> None:
        self.server = server
        self.writes: list[int] = []
        self.opened = 0
        self._lanes: list[Lane] = []

    def lane(self, *, size: int = 64, timeout: float = TIMEOUT) -> Lane:
        pool = connection_pool(self.server.url, timeout=timeout)
        options = lane_connection_options(pool)

        def connect() -> CountingConnection:
            self.opened += 1
            connection = CountingConnection(**options)
            connection.writes = self.writes
            return connection

        lane = Lane(connect, size, timeout=timeout)
        self._lanes.append(lane)
        return lane

    async def close(self) -> None:
        for lane in self._lanes:
            await lane.close()


@pytest.fixture
def server(own_redis: RedisServer) -> RedisServer:
    return own_redis


@pytest.fixture
async def lanes(server: RedisServer) -> AsyncIterator[Lanes]:
    made = Lanes(server)
    try:
        yield made
    finally:
        if server.running:  # a test that failed may leave it frozen
            server.thaw()
        await made.close()


def admin(server: RedisServer) -> redis.Redis:
    return redis.Redis.from_url(server.url, decode_responses=True)


def lane_tasks() -> set[asyncio.Task[Any]]:
    return asyncio.all_tasks() - {asyncio.current_task()}


async def echoes(lane: Lane, count: int, prefix: str = "v") -> list[Any]:
    return list(
        await asyncio.gather(*(lane.execute("ECHO", f"{prefix}{i}") for i in range(count)))
    )


async def test_concurrent_calls_go_out_in_one_write_and_each_gets_its_reply(
    lanes: Lanes,
) -> None:
    lane = lanes.lane(size=128)
    assert await lane.execute("ECHO", "warm") == "warm"
    lanes.writes.clear()

    assert await echoes(lane, 100) == [f"v{i}" for i in range(100)]

    assert lanes.writes == [100]
    assert lanes.opened == 1


async def test_commands_in_flight_never_exceed_the_lane_size(lanes: Lanes) -> None:
    lane = lanes.lane(size=4)

    assert await echoes(lane, 30) == [f"v{i}" for i in range(30)]

    assert sum(lanes.writes) == 30
    assert max(lanes.writes) == 4
    assert lanes.opened == 1


async def test_an_error_reply_goes_to_its_caller_only(lanes: Lanes, server: RedisServer) -> None:
    lane = lanes.lane()
    with admin(server) as direct:
        direct.set("text", "not a number")

    outcomes = await asyncio.gather(
        lane.execute("ECHO", "before"),
        lane.execute("EVALSHA", "0" * 40, 0),
        lane.execute("ECHO", "between"),
        lane.execute("INCR", "text"),
        lane.execute("ECHO", "after"),
        return_exceptions=True,
    )

    before, noscript, between, wrong_type, after = outcomes
    assert (before, between, after) == ("before", "between", "after")
    assert isinstance(noscript, NoScriptError)
    assert type(wrong_type) is ResponseError
    assert "not an integer" in str(wrong_type)
    assert await lane.execute("ECHO", "next") == "next"
    assert lanes.opened == 1


async def test_a_cancelled_callers_reply_is_read_and_dropped(
    lanes: Lanes, server: RedisServer
) -> None:
    """``BLPOP`` holds the connection's later replies back until it is answered: its
    caller is cancelled meanwhile, and the reply meant for it must not reach the next."""
    lane = lanes.lane(timeout=10)
    blocked = asyncio.create_task(lane.execute("BLPOP", "queue", 10))
    behind = asyncio.create_task(lane.execute("ECHO", "behind"))
    with admin(server) as direct:
        await eventually(
            lambda: direct.info("clients")["blocked_clients"] == 1, what="BLPOP to block"
        )
        blocked.cancel()
        direct.rpush("queue", "item")

        assert await behind == "behind"
        assert await lane.execute("ECHO", "next") == "next"
        assert blocked.cancelled()
        assert direct.llen("queue") == 0  # the cancelled BLPOP did take it
    assert lanes.opened == 1


async def test_execute_asking_sends_asking_with_the_command_and_raises_its_error(
    lanes: Lanes,
) -> None:
    """A single Redis refuses ``ASKING`` (no cluster support): that first error is
    raised, the command's own reply is read too, and the connection stays in step. A
    cluster's ``ASK`` redirection is in ``test_redis_cluster.py``."""
    lane = lanes.lane()
    assert await lane.execute("ECHO", "warm") == "warm"
    lanes.writes.clear()

    outcomes: tuple[Any, ...] = await asyncio.gather(
        lane.execute_asking("ECHO", "asked"), lane.execute("ECHO", "other"), return_exceptions=True
    )
    asking, echo = outcomes

    assert isinstance(asking, ResponseError)
    assert "cluster support disabled" in str(asking)
    assert echo == "other"
    assert lanes.writes == [2]  # ASKING, its command and the other caller's: one write
    assert await lane.execute("ECHO", "next") == "next"


async def test_a_frozen_redis_fails_every_waiting_caller_by_the_oldest_deadline(
    lanes: Lanes, server: RedisServer
) -> None:
    deadline = 2 * TIMEOUT
    lane = lanes.lane(size=16, timeout=deadline)
    assert await lane.execute("ECHO", "warm") == "warm"
    server.freeze()

    started = time.monotonic()
    first = [asyncio.create_task(lane.execute("ECHO", f"a{i}")) for i in range(40)]
    await asyncio.sleep(deadline / 2)  # time passing is the scenario, not a wait for it
    later_started = time.monotonic()
    later = await asyncio.gather(
        *(lane.execute("ECHO", f"b{i}") for i in range(40)), return_exceptions=True
    )
    later_waited = time.monotonic() - later_started
    earlier = await asyncio.gather(*first, return_exceptions=True)
    waited = time.monotonic() - started

    assert all(isinstance(outcome, TimeoutError) for outcome in [*earlier, *later])
    assert deadline - CLOCK_SLACK <= waited < deadline + MARGIN, waited
    assert later_waited < deadline * 0.9, later_waited  # failed with the first, not at its own
    await eventually(lambda: not lane_tasks(), what="the frozen connection's tasks to end")

    server.thaw()
    started = time.monotonic()
    assert await lane.execute("ECHO", "thawed") == "thawed"
    assert time.monotonic() - started < TIMEOUT
    assert lanes.opened == 2
    with admin(server) as direct:  # the connection given up on was closed, not kept
        await eventually(
            lambda: direct.info("clients")["connected_clients"] == 2, what="one lane connection"
        )


async def test_a_command_on_a_connection_redis_dropped_is_sent_once_more(
    lanes: Lanes, server: RedisServer
) -> None:
    """Killed and restarted between two calls: the command queued on the established
    (now dead) connection goes once more on a fresh one, and runs once."""
    lane = lanes.lane()
    assert await lane.execute("INCR", "counter") == 1
    server.kill()
    server.start()  # empty: the counter is gone

    assert await lane.execute("INCR", "counter") == 1
    assert lanes.opened == 2
    with admin(server) as direct:
        assert direct.get("counter") == "1"


async def test_a_fresh_connections_failure_is_final(lanes: Lanes, server: RedisServer) -> None:
    lane = lanes.lane()
    assert await lane.execute("ECHO", "warm") == "warm"
    server.kill()

    outcomes = await asyncio.gather(
        *(lane.execute("ECHO", "x") for _ in range(20)), return_exceptions=True
    )

    assert all(isinstance(outcome, RedisConnectionError) for outcome in outcomes), outcomes
    server.start()
    assert await lane.execute("ECHO", "back") == "back"


async def test_closing_the_lane_fails_waiting_callers_and_closes_the_connection(
    lanes: Lanes, server: RedisServer
) -> None:
    lane = lanes.lane(timeout=10)
    waiting = asyncio.create_task(lane.execute("BLPOP", "never", 10))
    with admin(server) as direct:
        await eventually(
            lambda: direct.info("clients")["blocked_clients"] == 1, what="BLPOP to block"
        )

        await lane.close()

        with pytest.raises(RedisConnectionError, match="closed"):
            await waiting
        assert not lane_tasks()
        await eventually(
            lambda: direct.info("clients")["connected_clients"] == 1, what="the lane's to close"
        )
