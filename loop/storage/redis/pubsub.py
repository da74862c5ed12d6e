"""One Redis pub/sub connection per process and concern, shared by its subscribers.

A process holding ten thousand call sockets subscribes each *call* once, on a single
connection read by a single task, and fans messages out in memory
(:class:`~loop.storage.fanout.LocalHub`). A channel is subscribed when its first local
listener arrives and unsubscribed when its last one leaves. :meth:`RedisHub.subscribe`
returns only once Redis confirmed the subscription, so a state change published right
after (by any process) reaches the new listener. redis-py re-subscribes every channel
after a reconnection.

Every wait a caller makes here (the shared connection's lock, the command, the
confirmation; and the unsubscription on leave) is bounded by ``timeout`` (``storage.timeout``)
as one deadline, so a frozen Redis costs a socket at most that long, then ``BackendError``.
A subscription given up on may still be confirmed later; its channel then stays subscribed
with no local listener, and its messages are dropped.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import redis.asyncio
from redis.asyncio.client import PubSub

from loop.storage import BackendError
from loop.storage.calls import CallSubscription
from loop.storage.fanout import HubSubscription, LocalHub

logger = logging.getLogger("loop.storage")

T = TypeVar("T")

RETRY_DELAY = 0.2
"""Seconds the reader waits after a connection error before reading again."""


class RedisHub(Generic[T]):
    """Messages arrive as text and reach listeners as ``decode(text)``; a text that
    ``decode`` refuses (``ValueError``) is logged and dropped."""

    def __init__(
        self, client: redis.asyncio.Redis, decode: Callable[[str], T], *, timeout: float
    ) -> None:
        self._client = client
        self._decode = decode
        self._timeout = timeout
        self._local: LocalHub[T] = LocalHub()
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._confirmations: dict[str, collections.deque[asyncio.Future[None]]] = {}
        self._lock = asyncio.Lock()
        self._closed = False

    @property
    def channels(self) -> int:
        """Calls this process is subscribed to."""
        return self._local.channels

    async def subscribe(self, channel: str, listener: Callable[[T], None]) -> CallSubscription:
        """Every subscription sends its own ``SUBSCRIBE`` (idempotent for Redis) and waits
        for its own confirmation: one command, and no race with an unsubscription of the
        same channel still in flight."""
        if self._closed:
            raise BackendError(message="storage is closed")
        listener_id, _ = self._local.add(channel, listener)
        deadline = asyncio.get_running_loop().time() + self._timeout
        try:
            async with asyncio.timeout_at(deadline):
                await self._confirmed(channel, await self._send("subscribe", channel))
        except BaseException as error:
            # The clean-up shares the deadline: past it, the channel stays subscribed.
            with contextlib.suppress(BackendError, TimeoutError):
                async with asyncio.timeout_at(deadline):
                    await self._release(channel, listener_id)
            if isinstance(error, TimeoutError):
                raise BackendError(error, "pub/sub subscription not confirmed in time") from error
            raise
        return HubSubscription(lambda: self._release_within_timeout(channel, listener_id))

    async def close(self) -> None:
        self._closed = True
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        if self._pubsub is not None:
            await self._pubsub.aclose()  # type: ignore[no-untyped-call,unused-ignore]

    # -- plumbing --------------------------------------------------------------------------

    async def _send(self, command: str, channel: str) -> asyncio.Future[None]:
        """Send (un)subscribe on the shared connection; the returned future is resolved by
        the reader when Redis confirms (confirmations of a channel arrive in order)."""
        future = asyncio.get_running_loop().create_future()
        async with self._lock:
            pubsub = self._pubsub or self._client.pubsub()
            self._pubsub = pubsub
            if command == "subscribe":
                self._confirmations.setdefault(channel, collections.deque()).append(future)
            try:
                await getattr(pubsub, command)(channel)
            except BaseException as error:
                self._forget(channel, future)
                if isinstance(error, (OSError, redis.RedisError)):
                    raise BackendError(error) from error
                raise
        self._start_reader()
        return future

    async def _confirmed(self, channel: str, future: asyncio.Future[None]) -> None:
        """Wait for Redis's confirmation; a waiter given up on (the caller's deadline or
        cancellation) leaves the queue, so it is not the one a later confirmation wakes."""
        try:
            await asyncio.shield(future)
        except BaseException:
            self._forget(channel, future)
            raise

    def _forget(self, channel: str, future: asyncio.Future[None]) -> None:
        waiting = self._confirmations.get(channel)
        if waiting is not None and future in waiting:
            waiting.remove(future)

    async def _release_within_timeout(self, channel: str, listener_id: int) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                await self._release(channel, listener_id)
        except TimeoutError as error:
            raise BackendError(error, "pub/sub unsubscription not sent in time") from error

    async def _release(self, channel: str, listener_id: int) -> None:
        if self._local.remove(channel, listener_id) and not self._closed:
            await self._send("unsubscribe", channel)

    def _start_reader(self) -> None:
        if self._reader is None or self._reader.done():
            self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        """Dispatch every message; after an error, retry while anyone still listens."""
        while not self._closed and self._pubsub is not None:
            try:
                message = await self._pubsub.get_message(timeout=None)
            except (OSError, redis.RedisError, RuntimeError):
                if not self._local.channels:
                    return
                logger.warning("pub/sub connection lost; reconnecting", exc_info=True)
                await asyncio.sleep(RETRY_DELAY)
                continue
            if message is not None:
                self._dispatch(message)

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind, channel = message.get("type"), str(message.get("channel"))
        if kind == "subscribe":
            waiting = self._confirmations.get(channel)
            if waiting:
                future = waiting.popleft()
                if not waiting:
                    del self._confirmations[channel]
                if not future.done():
                    future.set_result(None)
        elif kind == "message":
            try:
                decoded = self._decode(str(message["data"]))
            except ValueError:
                logger.warning("malformed pub/sub message ignored")
                return
            self._local.publish(channel, decoded)
