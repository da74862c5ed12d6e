"""The call-progress state machine (loop-api.md §6.4-§6.5, decisions §6): states, events
and the one transition table the websocket follows. ``states.dot`` draws it.

Storage keeps a call's progress as a set of *markers* and only counts them
(:mod:`loop.storage.calls`); the count *is* the state (:data:`BY_MARKERS`). Each rule
below says in which states an event applies and what it does there: add a marker (a
party's duplicate marker leaves the count, hence the state, unchanged) or terminate. The
storage applies a rule atomically, given the marker counts of its states (:func:`counts`).
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Mapping

from loop.storage.calls import Party


class CallState(enum.StrEnum):
    INIT = "init"
    HALF_INITIATED = "half-initiated"
    """Internal: one party said hello. Shown as ``init`` in hello answers, never broadcast."""
    ALERTING = "alerting"
    CONNECTING = "connecting"
    HALF_CONNECTED = "half-connected"
    CONNECTED = "connected"
    TERMINATED = "terminated"


BY_MARKERS: Mapping[int, CallState] = {
    0: CallState.TERMINATED,
    1: CallState.INIT,
    2: CallState.HALF_INITIATED,
    3: CallState.ALERTING,
    4: CallState.CONNECTING,
    5: CallState.HALF_CONNECTED,
    6: CallState.CONNECTED,
}
MARKERS: Mapping[CallState, int] = {state: count for count, state in BY_MARKERS.items()}
LIVE = frozenset(state for state in CallState if state is not CallState.TERMINATED)
FINAL = frozenset({CallState.CONNECTED, CallState.TERMINATED})
"""States after which the server closes the socket it sent them to."""


class Event(enum.StrEnum):
    HELLO = "hello"
    ACCEPT = "accept"
    MEDIA_UP = "media-up"
    TERMINATE = "terminate"
    SUPERVISORY_TIMEOUT = "supervisory-timeout"
    RINGING_TIMEOUT = "ringing-timeout"
    CONNECTION_TIMEOUT = "connection-timeout"
    LAST_DEVICE_LEFT = "last-device-left"


ACTIONS = (Event.ACCEPT, Event.MEDIA_UP, Event.TERMINATE)
"""The events a client may send in ``{"messageType": "action"}``, in the error's order."""


@dataclasses.dataclass(frozen=True, slots=True)
class Rule:
    """What ``event`` does in ``sources``; elsewhere it is refused (or ignored)."""

    sources: frozenset[CallState]
    marker: str | None = None
    """Marker to add; ``{party}`` is replaced by the acting party."""
    terminate: str | None = None
    """Termination reason (``""``: the client's reason, or none)."""
    refused_is_error: bool = True
    """Whether an event outside ``sources`` answers "No transition..." (client actions)."""

    def marker_for(self, party: Party) -> str:
        assert self.marker is not None
        return self.marker.format(party=party)


TRANSITIONS: Mapping[Event, Rule] = {
    Event.HELLO: Rule(
        frozenset({CallState.INIT, CallState.HALF_INITIATED}),
        marker="init.{party}",
        refused_is_error=False,
    ),
    Event.ACCEPT: Rule(frozenset({CallState.ALERTING}), marker="connecting"),
    Event.MEDIA_UP: Rule(
        frozenset({CallState.CONNECTING, CallState.HALF_CONNECTED}), marker="connected.{party}"
    ),
    Event.TERMINATE: Rule(LIVE, terminate=""),
    Event.SUPERVISORY_TIMEOUT: Rule(
        frozenset({CallState.HALF_INITIATED}), terminate="timeout", refused_is_error=False
    ),
    Event.RINGING_TIMEOUT: Rule(
        frozenset({CallState.ALERTING}), terminate="timeout", refused_is_error=False
    ),
    Event.CONNECTION_TIMEOUT: Rule(
        frozenset({CallState.CONNECTING, CallState.HALF_CONNECTED}),
        terminate="timeout",
        refused_is_error=False,
    ),
    Event.LAST_DEVICE_LEFT: Rule(LIVE, terminate="closed", refused_is_error=False),
}

REASON = re.compile(r"[a-zA-Z0-9-]+")
"""Terminate reasons: ``busy``, ``cancel``, ``timeout``, ``closed``,
``answered-elsewhere``, and ``reject``/``media-fail`` (D28), or any such word."""


def counts(states: frozenset[CallState]) -> frozenset[int]:
    """The marker counts of ``states``, as storage conditions its steps on them."""
    return frozenset(MARKERS[state] for state in states)


def state_of(markers: int) -> CallState:
    return BY_MARKERS.get(markers, CallState.CONNECTED)


def hello_state(state: CallState) -> CallState:
    """What a hello answer shows: the internal half-initiated state reads ``init``."""
    return CallState.INIT if state is CallState.HALF_INITIATED else state


def no_transition(state: CallState, event: Event) -> str:
    return f"No transition from {state} state with {event} event."


def invalid_event(event: object) -> str:
    return f"{event} state is invalid. Should be one of: " + ", ".join(ACTIONS)


@dataclasses.dataclass(frozen=True, slots=True)
class Delivery:
    """What one socket is sent for a broadcast state, if anything."""

    state: CallState
    reason: str | None
    close: bool


def delivery(
    state: CallState,
    reason: str | None,
    *,
    party: Party | None,
    accepted: bool,
    last_sent: CallState | None,
) -> Delivery | None:
    """The delivery rules of §6.5: half-initiated is never broadcast, a state is not sent
    twice in a row, a callee device that did not accept sees ``connecting`` as
    ``terminated``/``answered-elsewhere``, and final states close the socket."""
    if state is CallState.HALF_INITIATED:
        return None
    if state is CallState.CONNECTING and party == "callee" and not accepted:
        state, reason = CallState.TERMINATED, "answered-elsewhere"
    if state == last_sent:
        return None
    return Delivery(state, reason if state is CallState.TERMINATED else None, state in FINAL)
