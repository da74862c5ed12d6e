"""The Redis backend: every public method is one round trip and one command.

Conditional and multi-key work runs in Lua (``lua/*.lua``, loaded by :mod:`.scripts`;
keys named by :mod:`.keys`) called by ``EVALSHA``; the SHA1s are computed locally, so
nothing has to be loaded at start-up, and a ``NOSCRIPT`` answer (after a restart or
``SCRIPT FLUSH``) is retried once with ``EVAL``, which also caches the script again. The
original Node server spent 16.8 commands per request; here a request costs one command per
storage call.

Redis Cluster (``redis+cluster://host:port,host:port/``): every script is given keys of
one hash slot (the hash tags of :mod:`.keys`); what it reaches in other slots (an owner's
indexes, push targets, the reap index) goes through the prelude's ``foreign`` and
``targets``, which act at once here and are handed back in a cluster.
:class:`~loop.storage.redis.clustered.ClusterRedisStorage` runs the same scripts through a
slot-routing lane and applies what they hand back; this class's hot path is unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import redis.asyncio
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError

from loop.storage import DEFAULT_TIMEOUT, BackendError, Storage
from loop.storage.checks import (
    SessionCheck,
    SessionCheckFailed,
    armed,
    armed_check,
)
from loop.storage.redis import keys
from loop.storage.redis.accounts import RedisAccountStorage
from loop.storage.redis.admin import RedisAdminStorage
from loop.storage.redis.calls import RedisCallStorage
from loop.storage.redis.codec import number
from loop.storage.redis.errors import DRIVER_ERRORS, wrap_redis_error
from loop.storage.redis.lane import Lane
from loop.storage.redis.rooms import RedisRoomStorage
from loop.storage.redis.scripts import Script, load
from loop.storage.redis.sessions import RedisSessionStorage
from loop.storage.redis.signalling import RedisSignallingStorage
from loop.storage.redis.webpush import RedisWebPushStorage
from loop.storage.secrets import SecretsDiverged

HEARTBEAT_TTL = 3600

ENSURE_SECRETS = load("ensure_secrets")
NOOP = load("noop")
CLAIM_SECRETS = load("claim_secrets")


class RedisStorage(
    RedisSessionStorage,
    RedisRoomStorage,
    RedisCallStorage,
    RedisAccountStorage,
    RedisWebPushStorage,
    RedisSignallingStorage,
    RedisAdminStorage,
    Storage,
):
    """:class:`Storage` on one Redis database shared by every server process: the concern
    mixins, on the plumbing below (``_run``) and the backend's lifecycle."""

    def __init__(self, client: redis.asyncio.Redis, lane: Lane, *, timeout: float) -> None:
        super().__init__()
        self._client = client
        """For the admin concern (scans, pipelines) and ``flush``."""
        self._subscriber = client
        """For the pub/sub hubs."""
        self._lane = lane
        """For every command a request or a background job waits on: the hot path."""
        self._timeout = timeout
        """Seconds any wait on Redis may last (the lane's deadline, pub/sub confirmations)."""

    async def _run(self, script: Script, keys: Sequence[str], *args: str) -> Any:
        """One ``EVALSHA`` (``args[0]`` is always ``now``), or ``EVAL`` if the script
        cache was flushed; ``stats`` count what really went over the wire. Refused while
        the secrets diverged. The request's session check rides on it when armed and not
        taken yet (:mod:`loop.storage.checks`); once taken, later calls wait for it."""
        if self._secrets.diverged:
            raise SecretsDiverged()
        check = armed_check()
        if check is not None:
            if check.claim():
                return await self._run_checked(check, script, keys, args)
            await check.outcome()
        return await self._send(script, len(keys), *keys, *args)

    async def _run_checked(
        self, check: SessionCheck, script: Script, keys: Sequence[str], args: Sequence[str]
    ) -> Any:
        try:
            reply = await self._send(
                script.checked,
                len(keys) + 2,
                *keys,
                *check_keys(check.hawk_id_hmac),
                *args,
                check.member,
                number(check.now + check.ttl),
                number(check.nonce_until),
                check.user_mac or "",
                number(check.now),
            )
        except ResponseError as error:
            failure = check_failure(error)
            if failure is None:
                check.failed(BackendError(error))
                raise
            self.known_sessions.forget(check.hawk_id_hmac)
            check.failed(failure)
            raise failure from None
        except BaseException as error:
            check.failed(BackendError(error))
            raise
        check.passed()
        return reply

    async def _send(self, script: Script, key_count: int, *keys_and_args: str | int) -> Any:
        self._count()
        try:
            return await self._lane.execute("EVALSHA", script.sha, key_count, *keys_and_args)
        except NoScriptError:
            self._count()
            return await self._lane.execute("EVAL", script.source, key_count, *keys_and_args)

    @wrap_redis_error
    async def check_session(self, check: SessionCheck) -> None:
        with armed(check):
            await self._run(NOOP, [], number(check.now))

    async def _eval(self, script: Script, keys: Sequence[str], *args: str) -> Any:
        """:meth:`_run` even while the secrets diverged: for the secrets checks, which
        are what can end it (the hot path does not pay an extra await for it)."""
        self._count()
        try:
            return await self._lane.execute("EVALSHA", script.sha, len(keys), *keys, *args)
        except NoScriptError:
            self._count()
            return await self._lane.execute("EVAL", script.source, len(keys), *keys, *args)

    def _count(self) -> None:
        self.stats.round_trips += 1
        self.stats.commands += 1

    # -- lifecycle -------------------------------------------------------------------------

    @wrap_redis_error
    async def close(self) -> None:
        await self._close_call_hub()
        await self._close_signal_hub()
        await self._lane.close()
        await self._client.aclose(close_connection_pool=True)

    async def ping(self, *, now: float) -> bool:
        """``False`` while the secrets diverged too: the heartbeat fails."""
        if self._secrets.diverged:
            return False
        self._count()
        try:
            await self._lane.execute("SET", keys.HEARTBEAT, number(now), "EX", HEARTBEAT_TTL)
        except (*DRIVER_ERRORS, BackendError):
            return False
        return True

    @wrap_redis_error
    async def flush(self) -> None:
        self._count()
        await self._client.flushdb()

    @wrap_redis_error
    async def ensure_secrets(self, candidates: Mapping[str, str]) -> dict[str, str]:
        if not candidates:
            return {}
        args = [item for pair in candidates.items() for item in pair]
        values = await self._run(ENSURE_SECRETS, [keys.SECRETS], "0", *args)
        return dict(zip(candidates, values, strict=True))

    @wrap_redis_error
    async def pin_secrets(self, record: Mapping[str, str]) -> bool:
        stored = await self._eval(CLAIM_SECRETS, [keys.SECRETS], "0", *_pairs(record))
        self._secrets.pin(record)  # after the claim: its connection is not checked twice
        return self._secrets.judge(stored, check="start")

    @wrap_redis_error
    async def check_secrets(self) -> bool:
        record = self._secrets.record
        try:
            stored = await self._eval(CLAIM_SECRETS, [keys.SECRETS], "0", *_pairs(record or {}))
        except SecretsDiverged:
            return False  # a new connection's own check found it, and logged it
        return record is None or self._secrets.judge(stored, check="periodic")

    async def _check_on_connect(self, connection: AbstractConnection) -> None:
        """The lane's connections' ``redis_connect_func``: the usual hand-shake, then (once
        pinned) the secrets claim, before the command that opened the connection is sent.
        A Redis restart drops every connection, so the first command after it re-seeds an
        emptied Redis with our record, or finds another's and is refused."""
        await connection.on_connect()
        record = self._secrets.record
        if record is None:
            return
        stored = await self._claim_on(connection, record)
        if not self._secrets.judge(stored, check="connect"):
            raise SecretsDiverged()

    async def _claim_on(self, connection: AbstractConnection, record: Mapping[str, str]) -> Any:
        command = (1, keys.SECRETS, "0", *_pairs(record))
        self._count()
        try:
            await connection.send_command("EVALSHA", CLAIM_SECRETS.sha, *command)
            return await connection.read_response()
        except NoScriptError:
            self._count()
            await connection.send_command("EVAL", CLAIM_SECRETS.source, *command)
            return await connection.read_response()


def check_keys(hawk_id_hmac: str) -> list[str]:
    return [keys.session(hawk_id_hmac), keys.nonces(hawk_id_hmac)]


def check_failure(error: ResponseError) -> SessionCheckFailed | None:
    """The failed check a script's error reply reports (``lua/check_session.lua``), or
    ``None`` for any other error."""
    message = str(error)
    if not message.startswith("LOOPCHECK "):
        return None
    outcome = message.removeprefix("LOOPCHECK ")
    return SessionCheckFailed(replayed=outcome == "replayed", stale=outcome == "stale")


def _pairs(record: Mapping[str, str]) -> list[str]:
    return [item for pair in record.items() for item in pair]


POOL_SIZE = 64
"""The redis-py pool's connections per process (admin, pub/sub), and the commands a
:class:`Lane` keeps in flight on its one connection; a burst beyond either waits, within
the storage timeout."""


def connection_pool(url: str, *, timeout: float) -> redis.asyncio.BlockingConnectionPool:
    """The pool, and the connection options, every Redis connection here is made with
    (:func:`from_url` says why each)."""
    return redis.asyncio.BlockingConnectionPool.from_url(
        url,
        decode_responses=True,
        max_connections=POOL_SIZE,
        timeout=timeout,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
    )


def lane_connection_options(pool: redis.asyncio.BlockingConnectionPool) -> dict[str, Any]:
    """A lane's connections are the pool's without a read timeout: the lane's deadline
    bounds each call as a whole, so a call arms one timer, not two."""
    return {**pool.connection_kwargs, "socket_timeout": None}


async def from_url(url: str, *, timeout: float = DEFAULT_TIMEOUT) -> RedisStorage:
    """Open ``redis://``, ``rediss://`` or ``unix://`` URLs; query options such as
    ``?socket_timeout=2&max_connections=32`` override the defaults. Nothing is sent until
    the first call.

    The pool blocks rather than fails when all its connections are busy (redis-py's
    default pool raises ``Too many connections`` at 100 concurrent calls). No
    health-check ``PING`` (it would add a round trip after an idle spell). A refused or
    reset connection is retried once, which recovers a stale pooled socket; a timeout is
    never retried, since a script that did run would then apply twice (its nonce would
    look replayed).

    ``timeout`` (``storage.timeout``) bounds every wait: the lane's calls as a whole, and
    the pool's acquire, connect and reads for the pub/sub connections."""
    pool = connection_pool(url, timeout=timeout)
    unbounded_reads = lane_connection_options(pool)

    def connect() -> AbstractConnection:
        return pool.connection_class(
            **unbounded_reads, redis_connect_func=storage._check_on_connect
        )

    lane = Lane(connect, POOL_SIZE, timeout=timeout)
    storage = RedisStorage(redis.asyncio.Redis(connection_pool=pool), lane, timeout=timeout)
    return storage
