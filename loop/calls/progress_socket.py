"""One call-progress websocket (loop-api.md §6, decisions D28 and §6): the messages it
understands, its timers, and what it is sent.

The socket is transport-agnostic (:class:`Transport`), so the rules run the same under
any server. Every state change goes through storage, one atomic step per event
(:mod:`loop.storage.calls`), and comes back to *every* socket of the call, on any server
process, through the call's subscription; this socket's own actions included, so each
socket sees one ordered stream. Broadcasts queue until the hello answer is sent, so a
client always reads its hello first.

An idle socket holds no task of its own: broadcasts wait in a list, and a delivery task
runs only while there is something to deliver (thousands of ringing sockets each with a
sleeping task and queue would cost a few KiB apiece; ``bench/websocket_idle.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Protocol

from loop import jsonutil
from loop.calls.progress import (
    ACTIONS,
    REASON,
    TRANSITIONS,
    CallState,
    Event,
    counts,
    delivery,
    hello_state,
    invalid_event,
    no_transition,
    state_of,
)
from loop.crypto import constant_time_equals
from loop.services import CallServices
from loop.storage import BackendError
from loop.storage.calls import Call, CallProgress, CallSubscription, Party

logger = logging.getLogger("loop.calls")

BAD_CALL_ID = "bad callId"
BAD_AUTHENTICATION = "bad authentication"
UNAVAILABLE = "Service Unavailable"


class Transport(Protocol):
    async def send(self, message: dict[str, Any]) -> None: ...

    async def close(self) -> None: ...


class ProtocolError(Exception):
    """Answered ``{"messageType": "error", "reason": <text>}``, then the socket closes."""


def identify(call: Call, auth: str) -> Party | None:
    """Which side a websocket token belongs to; both compared in constant time."""
    callee = constant_time_equals(auth, call.ws_callee_token)
    caller = constant_time_equals(auth, call.ws_caller_token)
    return "callee" if callee else "caller" if caller else None


class ProgressSocket:
    def __init__(self, services: CallServices, transport: Transport) -> None:
        self.services = services
        self.transport = transport
        self.call_id: str | None = None
        self.party: Party | None = None
        self.accepted = False
        self.last_sent: CallState | None = None
        self.closed = False
        self._joined = False
        self._subscription: CallSubscription | None = None
        self._inbox: list[CallProgress] = []
        self._ready = False
        """The hello answer is sent: broadcasts may go out."""
        self._delivering = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._timers: list[asyncio.TimerHandle] = []

    # -- inbound ---------------------------------------------------------------------------

    async def receive(self, text: str) -> None:
        """Handle one client frame; protocol and storage errors end the socket."""
        try:
            await self._dispatch(_decode(text))
        except ProtocolError as error:
            await self._fail(str(error))
        except BackendError as error:
            logger.error("call progress storage failure: %s", type(error.original).__name__)
            await self._fail(UNAVAILABLE)

    async def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("messageType")
        if kind == "hello":
            await self._hello(message)
        elif kind == "action":
            await self._action(message)
        elif kind == "echo":
            await self._send({"messageType": "echo", "echo": message.get("echo")})
        else:
            raise ProtocolError("Unknown messageType")

    async def _hello(self, message: dict[str, Any]) -> None:
        _require(message, "callId", "auth")
        if self.call_id is not None:
            raise ProtocolError(no_transition(self.last_sent or CallState.INIT, Event.HELLO))
        call_id, auth = message["callId"], message["auth"]
        storage, now = self.services.storage, self.services.clock.now()
        call = await storage.get_call(call_id, now=now) if isinstance(call_id, str) else None
        if call is None:
            raise ProtocolError(BAD_CALL_ID)
        party = identify(call, auth) if isinstance(auth, str) else None
        if party is None:
            raise ProtocolError(BAD_AUTHENTICATION)
        self.call_id, self.party = call_id, party
        self._subscription = await storage.subscribe_call(call_id, self._received)
        await self._join(call_id, party)

    async def _join(self, call_id: str, party: Party) -> None:
        rule = TRANSITIONS[Event.HELLO]
        progress = await self.services.storage.join_call(
            call_id,
            party=party,
            marker=rule.marker_for(party),
            when=counts(rule.sources),
            now=self.services.clock.now(),
        )
        if progress is None:
            raise ProtocolError(BAD_CALL_ID)
        self._joined = True
        before = state_of(progress.previous)
        fresh = before in rule.sources
        shown = hello_state(before) if fresh else before
        reason = progress.reason if shown is CallState.TERMINATED else None
        await self._send(_state_message("hello", shown, reason))
        self.last_sent = shown
        self._start_timers(fresh)
        self._ready = True
        self._deliver_later()
        if shown is CallState.TERMINATED:
            await self.close()

    async def _action(self, message: dict[str, Any]) -> None:
        if self.call_id is None:
            raise ProtocolError(BAD_CALL_ID)
        _require(message, "event")
        event = message["event"]
        if event not in ACTIONS:
            raise ProtocolError(invalid_event(event))
        if event == Event.TERMINATE:
            await self._terminate(message.get("reason"))
        else:
            await self._advance(Event(event))

    async def _terminate(self, reason: Any) -> None:
        if reason is not None and not (isinstance(reason, str) and REASON.fullmatch(reason)):
            raise ProtocolError("Invalid reason: should be alphanumeric")
        await self._step(Event.TERMINATE, reason)

    async def _advance(self, event: Event) -> None:
        """``accept`` or ``media-up``. The accepter is marked *before* the step, since the
        broadcast it causes may reach this socket before the step's answer does."""
        accepting = event is Event.ACCEPT and not self.accepted
        self.accepted = self.accepted or accepting
        progress = await self._step(event)
        before = state_of(progress.previous)
        if before not in TRANSITIONS[event].sources:
            self.accepted = self.accepted and not accepting
            raise ProtocolError(no_transition(before, event))
        if accepting:
            self._timer(
                self.services.settings.timers.connection_duration, Event.CONNECTION_TIMEOUT
            )

    async def _step(self, event: Event, reason: str | None = None) -> CallProgress:
        """Apply ``event``'s rule in one storage step."""
        assert self.call_id is not None and self.party is not None
        rule, storage, now = TRANSITIONS[event], self.services.storage, self.services.clock.now()
        when = counts(rule.sources)
        if rule.marker is not None:
            marker = rule.marker_for(self.party)
            progress = await storage.mark_call(self.call_id, marker=marker, when=when, now=now)
        else:
            chosen = reason if rule.terminate == "" else rule.terminate
            progress = await storage.terminate_call(
                self.call_id, reason=chosen, when=when, now=now
            )
        if progress is None:
            raise ProtocolError(BAD_CALL_ID)
        return progress

    # -- timers ----------------------------------------------------------------------------

    def _start_timers(self, fresh: bool) -> None:
        timers = self.services.settings.timers
        self._timer(timers.supervisory_duration, Event.SUPERVISORY_TIMEOUT)
        if fresh and self.party == "callee":
            self._timer(timers.ringing_duration, Event.RINGING_TIMEOUT)

    def _timer(self, delay: float, event: Event) -> None:
        """A timer handle, not a sleeping task: idle sockets stay cheap."""
        handle = asyncio.get_running_loop().call_later(delay, self._fire, event)
        self._timers.append(handle)

    def _fire(self, event: Event) -> None:
        if not self.closed:
            self._spawn(self._expire(event))

    async def _expire(self, event: Event) -> None:
        """At expiry, the rule terminates the call only if it is still in its sources."""
        try:
            await self._step(event)
        except (BackendError, ProtocolError):
            logger.warning("call timer could not apply %s", event)

    # -- outbound --------------------------------------------------------------------------

    def _received(self, progress: CallProgress) -> None:
        """A broadcast of the call (the subscription's listener)."""
        if not self.closed:
            self._inbox.append(progress)
            self._deliver_later()

    def _deliver_later(self) -> None:
        """One delivery task at a time, and only while broadcasts wait: order is kept."""
        if self._ready and self._inbox and not self._delivering:
            self._delivering = True
            self._spawn(self._deliver())

    async def _deliver(self) -> None:
        """Deliver the waiting broadcasts in order; a final state closes the socket."""
        try:
            while self._inbox and not self.closed:
                await self._deliver_one(self._inbox.pop(0))
        finally:
            self._delivering = False

    async def _deliver_one(self, progress: CallProgress) -> None:
        state = state_of(progress.markers)
        sent = delivery(
            state,
            progress.reason,
            party=self.party,
            accepted=self.accepted,
            last_sent=self.last_sent,
        )
        if sent is None:
            return
        self.last_sent = sent.state
        await self._send(_state_message("progress", sent.state, sent.reason))
        if sent.close:
            await self.close()

    async def _send(self, message: dict[str, Any]) -> None:
        if not self.closed:
            with contextlib.suppress(Exception):  # the peer may be gone already
                await self.transport.send(message)

    async def _fail(self, reason: str) -> None:
        await self._send({"messageType": "error", "reason": reason})
        await self.close()

    async def close(self) -> None:
        """Close the socket from our side (the transport then reports the end)."""
        if not self.closed:
            self.closed = True
            with contextlib.suppress(Exception):
                await self.transport.close()

    async def finish(self) -> None:
        """The socket is gone: stop timers and delivery, and uncount this device (the
        last one of its side still in a live call ends it: ``terminated``/``closed``)."""
        self.closed = True
        for handle in self._timers:
            handle.cancel()
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        if self._subscription is not None:
            await self._subscription.close()
        if self._joined and self.call_id is not None and self.party is not None:
            await self._leave(self.call_id, self.party)

    async def _leave(self, call_id: str, party: Party) -> None:
        reason = TRANSITIONS[Event.LAST_DEVICE_LEFT].terminate or "closed"
        try:
            await self.services.storage.leave_call(
                call_id, party=party, reason=reason, now=self.services.clock.now()
            )
        except BackendError as error:
            logger.error("call progress leave failed: %s", type(error.original).__name__)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _decode(text: str) -> dict[str, Any]:
    try:
        message = jsonutil.loads(text)
    except ValueError:
        raise ProtocolError("Malformed message.") from None
    if not isinstance(message, dict):
        raise ProtocolError("Malformed message.")
    return message


def _require(message: dict[str, Any], *names: str) -> None:
    missing = [name for name in names if name not in message]
    if missing:
        raise ProtocolError("Missing parameters: " + ", ".join(missing))


def _state_message(kind: str, state: CallState, reason: str | None) -> dict[str, Any]:
    message: dict[str, Any] = {"messageType": kind, "state": str(state)}
    if reason is not None:
        message["reason"] = reason
    return message
