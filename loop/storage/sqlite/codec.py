"""How records are written into and read back from SQLite rows."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from loop.jsonutil import canonical
from loop.storage.rooms import Participant, Room
from loop.storage.sqlite.statements import ROOM_FIELDS


def dumps(value: Any) -> str:
    """Canonical JSON, so equal push targets are equal texts (deduplicated by SQL)."""
    return canonical(value)


def json_list(values: Iterable[str]) -> str:
    return json.dumps(list(values))


def to_room(row: Sequence[Any]) -> Room:
    fields = dict(zip(ROOM_FIELDS, row, strict=False))
    context = fields.pop("context")
    return Room(**fields, context=json.loads(context) if context is not None else None)


def to_participant(row: Sequence[Any]) -> Participant:
    return Participant(*row[1:])
