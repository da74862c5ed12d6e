"""Who may take a seat in a room (loop-api.md §5.3): one pure function, property-tested."""

from __future__ import annotations

import enum
from collections.abc import Iterable

from loop.storage import Participant


class Refusal(enum.Enum):
    ROOM_FULL = "room full"
    """errno 202: no seat left (one is always kept for the owner)."""
    CLIENT_CAPACITY = "client capacity"
    """errno 121: the joiner's client cannot show that many participants."""


def refusal(
    *,
    max_size: int,
    owner: str,
    joiner: str | None,
    client_max_size: int,
    participants: Iterable[Participant],
) -> Refusal | None:
    """Why ``joiner`` (a user key, ``None`` for a link-clicker) may not join, or ``None``.

    Only *others* count: participants of another user (for a link-clicker, everybody), so
    a user's own devices never take seats from that user. The smallest ``clientMaxSize``
    among them caps the room, and unless the owner is already in or is the joiner, one
    seat stays free for the owner.
    """
    others = [p for p in participants if joiner is None or p.user != joiner]
    effective = min([max_size, *(p.client_max_size for p in others)])
    spare = effective - len(others)
    if joiner != owner and not any(p.user == owner for p in others):
        spare -= 1
    if spare <= 0:
        return Refusal.ROOM_FULL
    if client_max_size <= len(others):
        return Refusal.CLIENT_CAPACITY
    return None


def room_client_max_size(max_size: int, participants: Iterable[Participant]) -> int:
    """The room-level ``clientMaxSize`` shown to clients: the tightest limit in force."""
    return min([max_size, *(p.client_max_size for p in participants)])
