"""This process's signalling members, and the check that they are still participants.

The rooms domain publishes leaves, removals and deletions as they happen. A participant
who stops refreshing, or a room deleted with its owner's account, produces no such event,
so every ``webrtc.membership_check_interval`` seconds each process reads the rooms of its
own members and ends those who are no longer live participants (``expired``) or whose
room is gone (``room-deleted``). The same pass renews the members' listing in the
storage, so the members of a process that died disappear after ``webrtc.member_ttl``.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Protocol

from loop.services import RoomServices
from loop.signalling.events import room_of
from loop.storage import BackendError

logger = logging.getLogger("loop.signalling")

HEALTH_CHANNEL_PREFIX = "health:"


class LocalMember(Protocol):
    """What the hub needs of a connected session."""

    peer_id: str
    participant: str

    async def end(self, reason: str) -> None:
        """Say ``bye`` with ``reason`` and close."""


class Signalling:
    """Channel → this process's members; one per process, opened with the app
    (``app.state.signalling``) and handed to each socket's session."""

    def __init__(self, services: RoomServices) -> None:
        self._services = services
        self.settings = services.settings.webrtc
        self._channels: dict[str, dict[str, LocalMember]] = {}

    def add(self, channel: str, member: LocalMember) -> None:
        self._channels.setdefault(channel, {})[member.peer_id] = member

    def discard(self, channel: str, member: LocalMember) -> None:
        members = self._channels.get(channel)
        if members is not None and members.get(member.peer_id) is member:
            del members[member.peer_id]
            if not members:
                del self._channels[channel]

    @property
    def connected(self) -> int:
        return sum(len(members) for members in self._channels.values())

    # -- the membership check ----------------------------------------------------------------

    async def watch(self) -> None:
        """Check forever; a failing backend is logged and retried at the next tick."""
        while True:
            try:
                await self.check_members()
            except BackendError as exc:
                logger.warning("signalling.check.backend_error", extra={"error": repr(exc)})
            except Exception:
                logger.exception("signalling.check.failed")
            await asyncio.sleep(self.settings.membership_check_interval)

    async def check_members(self) -> None:
        """One pass over this process's channels."""
        for channel, members in list(self._channels.items()):
            now = self._services.clock.now()
            await self._services.signals.renew_members(
                channel, list(members), now=now, ttl=self.settings.member_ttl
            )
            room = room_of(channel)
            if room is not None:
                await self._check_room(room, list(members.values()), now)

    async def _check_room(self, room: str, members: list[LocalMember], now: float) -> None:
        state = await self._services.storage.get_room(room, now=now)
        live = {p.id for p in state.participants} if state is not None else set()
        for member in members:
            if state is None:
                await member.end("room-deleted")
            elif member.participant not in live:
                await member.end("expired")

    # -- health ------------------------------------------------------------------------------

    async def ping(self) -> str | None:
        """A message published on a fresh channel must come back through the storage's
        bus: the path every relayed signal takes. The heartbeat bounds the wait."""
        channel = HEALTH_CHANNEL_PREFIX + secrets.token_hex(8)
        arrived = asyncio.get_running_loop().create_future()
        nonce = secrets.token_hex(8)

        def listener(message: str) -> None:
            if message == nonce and not arrived.done():
                arrived.set_result(None)

        try:
            signals = self._services.signals
            subscription = await signals.subscribe_signals(channel, listener)
            try:
                await signals.publish_signal(channel, nonce)
                await arrived
            finally:
                await subscription.close()
        except BackendError as exc:
            return f"Error: signalling bus unavailable: {exc}"
        return None
