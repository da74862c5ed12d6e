"""One signalling socket: ``hello``, then relay and ``remove`` until ``bye`` (docs/signalling.md).

A session is *waiting* for its hello, then *joined* to a channel, then *closed*. While
joined, two things feed it: the client's messages (:meth:`SignallingSession.receive`) and
the channel's bus events, queued by the storage subscription and applied in order by a
delivery task that runs only while events wait (an idle socket holds no task or queue of
its own: thousands of them stay cheap). Every way out (bye, refusal, limits, the client
going away) goes through :meth:`SignallingSession._close`, which unlists the member and
tells the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from typing import Any, Protocol

from loop.callers import participant_token_id
from loop.media.webrtc import Claims, TokenError, WebRTCProvider
from loop.rooms.participation import remove_participant
from loop.services import RoomServices
from loop.signalling import events
from loop.signalling.hub import Signalling
from loop.signalling.messages import (
    CLOSE_BYE,
    CLOSE_RATE_LIMITED,
    CLOSE_REFUSED,
    CLOSE_TOO_LARGE,
    CLOSE_UNAVAILABLE,
    BadMessage,
    ClientMessage,
    Hello,
    Ping,
    Remove,
    Signal,
    error,
    parse,
    peer_view,
)
from loop.storage import BackendError
from loop.storage.calls import CallSubscription
from loop.storage.signalling import Member

logger = logging.getLogger("loop.signalling")


class Transport(Protocol):
    async def send(self, message: dict[str, Any]) -> None:
        """Send one JSON message; a socket already gone is ignored."""

    async def close(self, code: int) -> None:
        """Close with ``code`` (once; later calls do nothing)."""


class SignallingSession:
    def __init__(self, services: RoomServices, hub: Signalling, transport: Transport) -> None:
        self._services = services
        self._hub = hub
        self._settings = services.settings.webrtc
        self._transport = transport
        self.peer_id = secrets.token_urlsafe(12)
        self.participant = ""
        self.role = "publisher"
        self.channel: str | None = None
        self.room: str | None = None
        self.closed = False
        self._known: dict[str, str] = {}
        """Peers this member was told about: peer id -> participant."""
        self._events: list[str] = []
        """Bus events not applied yet, oldest first."""
        self._welcomed = False
        """The welcome is sent: events may be applied (and answered)."""
        self._subscription: CallSubscription | None = None
        self._delivery: asyncio.Task[None] | None = None
        """The task applying ``_events``, while there are some."""
        self._opened = self._window_start = services.clock.now()
        self._window_count = 0
        self._received = 0

    @property
    def joined(self) -> bool:
        return self.channel is not None

    # -- the client's messages ----------------------------------------------------------------

    async def receive(self, text: str) -> None:
        """Handle one client message; the limits are checked before anything is parsed."""
        if self.closed:
            return
        self._received += 1
        if not self._within_rate():
            await self._refuse("rate-limited", CLOSE_RATE_LIMITED)
            return
        if len(text.encode("utf-8", "replace")) > self._settings.max_message_size:
            await self._refuse("too-large", CLOSE_TOO_LARGE)
            return
        try:
            message = parse(text)
        except BadMessage:
            await self._transport.send(error("bad-message"))
            return
        try:
            await self._dispatch(message)
        except BackendError as exc:
            logger.warning("signalling.backend_error", extra={"error": repr(exc.original)})
            await self._refuse("unavailable", CLOSE_UNAVAILABLE)

    def _within_rate(self) -> bool:
        now = self._services.clock.now()
        if now - self._window_start >= self._settings.rate_period:
            self._window_start, self._window_count = now, 0
        self._window_count += 1
        return self._window_count <= self._settings.rate_limit

    async def _dispatch(self, message: ClientMessage) -> None:
        if isinstance(message, Ping):
            await self._transport.send({"type": "pong"})
        elif isinstance(message, Hello) and not self.joined:
            await self._hello(message.token)
        elif not self.joined or isinstance(message, Hello):
            await self._transport.send(error("bad-message"))
        elif isinstance(message, Signal):
            await self._signal(message)
        elif isinstance(message, Remove):
            await self._remove(message.id)

    async def _hello(self, token: str) -> None:
        try:
            claims = self._verify(token)
        except TokenError as exc:
            await self._refuse(exc.reason, CLOSE_REFUSED)
            return
        pid = claims.participant or participant_token_id(self._services.settings, token)
        if claims.room is not None and not await self._is_participant(claims, pid):
            await self._refuse("not-a-participant", CLOSE_REFUSED)
            return
        await self._join(claims, pid)

    def _verify(self, token: str) -> Claims:
        media = self._services.media
        if not isinstance(media, WebRTCProvider):
            raise TokenError("invalid-token")
        return media.verify_token(token)

    async def _is_participant(self, claims: Claims, pid: str) -> bool:
        assert claims.room is not None
        state = await self._services.storage.get_room(claims.room, now=self._services.clock.now())
        return (
            state is not None
            and state.room.session_id == claims.channel
            and any(p.id == pid for p in state.participants)
        )

    async def _join(self, claims: Claims, pid: str) -> None:
        """Subscribe first, then list: a member joining meanwhile is announced on the bus
        (and told apart from the listed peers by id), never missed."""
        channel = events.room_channel(claims.room) if claims.room is not None else None
        self.channel = channel or events.call_channel(claims.channel)
        self.room, self.participant, self.role = claims.room, pid, claims.role
        signals = self._services.signals
        self._subscription = await signals.subscribe_signals(self.channel, self._event_received)
        admission = await signals.add_member(
            self.channel,
            Member(self.peer_id, pid, claims.role, claims.data),
            now=self._services.clock.now(),
            ttl=self._settings.member_ttl,
        )
        self._hub.add(self.channel, self)
        await self._announce(admission.replaced, peer_view(self.peer_id, claims.data))
        self._known = {peer.peer_id: peer.participant for peer in admission.peers}
        peers = [peer_view(peer.peer_id, peer.data) for peer in admission.peers]
        welcome = {"type": "welcome", "id": self.peer_id, "role": self.role, "peers": peers}
        await self._transport.send(welcome)
        self._welcomed = True
        self._deliver_later()

    async def _announce(self, replaced: tuple[Member, ...], view: dict[str, Any]) -> None:
        """End this participant's older sockets, then tell everyone this one joined."""
        assert self.channel is not None
        publish = self._services.signals.publish_signal
        for old in replaced:
            await publish(self.channel, events.encode("end", id=old.peer_id, reason="replaced"))
        await publish(self.channel, events.encode("join", peer=view, p=self.participant))

    async def _signal(self, message: Signal) -> None:
        if message.to not in self._known:
            await self._transport.send(error("unknown-peer"))
            return
        assert self.channel is not None
        event = events.encode("signal", to=message.to, data=message.data, **{"from": self.peer_id})
        await self._services.signals.publish_signal(self.channel, event)

    async def _remove(self, peer_id: str) -> None:
        """The moderator ends a participant's membership: as a leave for the room (the
        owner's devices are notified), then ``bye`` ``removed`` on its socket. Calls have
        no moderator."""
        if self.role != "moderator" or self.room is None:
            await self._transport.send(error("forbidden"))
            return
        pid = self._known.get(peer_id)
        if pid is None:
            await self._transport.send(error("unknown-peer"))
            return
        await remove_participant(self._services, self.room, pid)

    # -- the channel's events -----------------------------------------------------------------

    def _event_received(self, text: str) -> None:
        """A bus event of the channel (the subscription's listener)."""
        if not self.closed:
            self._events.append(text)
            self._deliver_later()

    def _deliver_later(self) -> None:
        """One delivery task at a time, and only while events wait: order is kept."""
        if self._welcomed and self._events and self._delivery is None:
            self._delivery = asyncio.ensure_future(self._apply_events())

    async def _apply_events(self) -> None:
        try:
            while self._events and not self.closed:
                text = self._events.pop(0)
                try:
                    await self._apply(json.loads(text))
                except (ValueError, KeyError, TypeError):
                    logger.warning("signalling.malformed_event")
                except Exception:
                    logger.exception("signalling.event_failed")
        finally:
            self._delivery = None

    async def _apply(self, event: dict[str, Any]) -> None:
        kind = event["k"]
        if kind == "join":
            peer = event["peer"]
            if peer["id"] != self.peer_id and peer["id"] not in self._known:
                self._known[peer["id"]] = event["p"]
                await self._transport.send({"type": "joined", "peer": peer})
        elif kind == "leave":
            if self._known.pop(event["id"], None) is not None:
                await self._transport.send(
                    {"type": "left", "id": event["id"], "reason": event["reason"]}
                )
        elif kind == "signal":
            if event["to"] == self.peer_id:
                await self._transport.send(
                    {"type": "signal", "from": event["from"], "data": event["data"]}
                )
        elif kind == "end" and self._targeted(event):
            await self.end(str(event["reason"]))

    def _targeted(self, event: dict[str, Any]) -> bool:
        if event.get("all"):
            return True
        return event.get("p") == self.participant or event.get("id") == self.peer_id

    # -- endings -------------------------------------------------------------------------------

    async def end(self, reason: str) -> None:
        """``bye`` with ``reason``, close 4000; the others hear ``left`` with the same reason."""
        if self.closed:
            return
        await self._transport.send({"type": "bye", "reason": reason})
        await self._transport.close(CLOSE_BYE)
        await self._close(reason)

    async def _refuse(self, reason: str, code: int) -> None:
        await self._transport.send(error(reason))
        await self._transport.close(code)
        await self._close("disconnected")

    async def finish(self) -> None:
        """The socket is gone (the endpoint's last word)."""
        await self._close("disconnected")

    async def _close(self, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        self._log_summary(reason)
        delivery = self._delivery
        if delivery is not None and delivery is not asyncio.current_task():
            delivery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await delivery
        if self._subscription is not None:
            await self._subscription.close()
        if self.channel is not None:
            self._hub.discard(self.channel, self)
            await self._unlist(self.channel, reason)

    def _log_summary(self, reason: str) -> None:
        """One line per socket, without ids or tokens."""
        logger.info(
            "signalling.session",
            extra={
                "reason": reason,
                "joined": self.joined,
                "role": self.role if self.joined else None,
                "received": self._received,
                "seconds": round(self._services.clock.now() - self._opened, 3),
            },
        )

    async def _unlist(self, channel: str, reason: str) -> None:
        signals = self._services.signals
        try:
            await signals.remove_member(channel, self.peer_id)
            await signals.publish_signal(
                channel, events.encode("leave", id=self.peer_id, reason=reason)
            )
        except BackendError:
            logger.warning("signalling.unlist_failed")
