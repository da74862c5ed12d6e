"""Channel names and the events published on a channel's bus.

Every event is a JSON object with a kind ``k``; all processes serving members of the
channel receive it and each applies it to its own sockets:

* ``join`` ``{peer: {id, data}, p, role}`` — a member connected;
* ``leave`` ``{id, reason}`` — a member's socket ended (told to the others as ``left``);
* ``signal`` ``{from, to, data}`` — relayed to member ``to`` only;
* ``end`` ``{reason}`` plus ``p`` (a participant), ``id`` (one socket) or ``all`` — the
  matching members get ``bye`` and are closed. The rooms domain publishes these when a
  participant leaves (``left``) or is removed (``removed``) and when a room is deleted
  (``room-deleted``).
"""

from __future__ import annotations

import json
from typing import Any

from loop.storage import SignallingStorage

ROOM_PREFIX = "r:"
CALL_PREFIX = "c:"


def room_channel(room_token: str) -> str:
    """A room's channel is named after the room, so room events need no lookup."""
    return ROOM_PREFIX + room_token


def call_channel(session_id: str) -> str:
    return CALL_PREFIX + session_id


def room_of(channel: str) -> str | None:
    return channel[len(ROOM_PREFIX) :] if channel.startswith(ROOM_PREFIX) else None


def encode(kind: str, **fields: Any) -> str:
    return json.dumps({"k": kind, **fields}, separators=(",", ":"))


async def end_participant(
    signals: SignallingStorage, room_token: str, pid: str, reason: str
) -> None:
    """Close the participant's socket, wherever it is connected (``bye`` ``reason``)."""
    await signals.publish_signal(room_channel(room_token), encode("end", p=pid, reason=reason))


async def end_room(signals: SignallingStorage, room_token: str) -> None:
    """Close every socket of a deleted room (``bye`` ``room-deleted``)."""
    await signals.publish_signal(
        room_channel(room_token), encode("end", all=True, reason="room-deleted")
    )
