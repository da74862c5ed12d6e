"""Rooms, the heart of Firefox Hello (loop-api.md §4.12, §5; decisions D2-D11, D26, D29).

Domain code only: routes (:mod:`loop.routes.rooms`) authenticate and parse, then call
these functions, which validate, talk to storage and media, notify the owner and return
what to answer. Modules:

* :mod:`~loop.rooms.validation` — request bodies, in the spec's order and words;
* :mod:`~loop.rooms.capacity` — who may take a seat (§5.3), one pure function;
* :mod:`~loop.rooms.views` — the public and full views of a room;
* :mod:`~loop.rooms.lifecycle` — create, update, delete, list, owner notification;
* :mod:`~loop.rooms.participation` — join, refresh, leave, status, logDomain;
* :mod:`~loop.rooms.expiry` — the sweeper that notices lapsed participants.
"""

from __future__ import annotations

from loop.rooms.expiry import reap_expired_participants, watch_participant_expiry

__all__ = ["reap_expired_participants", "watch_participant_expiry"]
