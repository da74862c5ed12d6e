"""How records are written into and read back from Redis hashes (see :mod:`.keys`).

Room fields are stored one JSON value per hash field so an update rewrites only what
changed and the Lua scripts never parse JSON (cjson would mangle empty arrays and round
floats); ``owner`` is kept raw because scripts compare it and build key names from it.
Times are sent as ``repr`` of the float, which round-trips exactly.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from loop.jsonutil import canonical
from loop.storage.rooms import Participant, Room, RoomState
from loop.storage.sessions import PushTarget, Session, Topic

_ROOM_FIELDS = frozenset(field.name for field in dataclasses.fields(Room))
_IMMUTABLE = frozenset({"token", "owner"})
_decode = json.JSONDecoder().decode


def encode(value: Any) -> str:
    """Canonical compact JSON: equal values give equal texts, which Lua compares."""
    return canonical(value)


def number(value: float) -> str:
    """A time or score as Redis and Lua read it, without losing precision."""
    return repr(float(value)) if not isinstance(value, int) else str(value)


def pairs(flat: Sequence[str]) -> dict[str, str]:
    """A ``HGETALL`` reply as a dict."""
    return dict(zip(flat[::2], flat[1::2], strict=True))


# -- sessions and push ---------------------------------------------------------------------


def session_fields(session: Session, expires_at: float) -> list[str]:
    fields = ["k", session.hawk_key, "e", number(expires_at)]
    if session.user_mac is not None:
        fields += ["u", session.user_mac]
    if session.encrypted_identity is not None:
        fields += ["i", session.encrypted_identity]
    return fields


def session_from_reply(hawk_id_hmac: str, reply: Sequence[str | None]) -> Session:
    key, user_mac, identity = reply
    assert key is not None, "the script only answers live sessions"
    return Session(hawk_id_hmac, key, user_mac, identity)


def target_fields(targets: Mapping[Topic, PushTarget]) -> list[str]:
    """Topic / canonical JSON pairs; canonical so equal targets deduplicate in Lua."""
    fields: list[str] = []
    for topic, target in targets.items():
        fields += [topic, canonical(target)]
    return fields


def decode_targets(texts: Iterable[str]) -> tuple[PushTarget, ...]:
    return tuple(_decode(text) for text in texts)


# -- rooms ---------------------------------------------------------------------------------


def room_fields(values: Mapping[str, Any]) -> list[str]:
    fields: list[str] = []
    for name, value in values.items():
        if name not in _ROOM_FIELDS:
            raise ValueError(f"unknown room field {name!r}")
        fields += [name, value if name == "owner" else canonical(value)]
    return fields


def room_changes(changes: Mapping[str, Any]) -> list[str]:
    """The fields ``update_room`` may rewrite: a room never changes token or owner."""
    if _IMMUTABLE & changes.keys():
        raise ValueError(f"a room's {sorted(_IMMUTABLE & changes.keys())} cannot change")
    return room_fields(changes)


def all_room_fields(room: Room) -> list[str]:
    return room_fields({name: getattr(room, name) for name in _ROOM_FIELDS})


def decode_room(flat: Sequence[str]) -> tuple[Room, int]:
    """A room hash as its record and join generation."""
    fields = pairs(flat)
    generation = int(fields.pop("g"))
    owner = fields.pop("owner")
    values = {name: _decode(text) for name, text in fields.items()}
    return Room(owner=owner, **values), generation


def participant_json(participant: Participant) -> str:
    """Everything but ``expires_at``, which lives in front of it so Lua can rewrite it."""
    values = dataclasses.asdict(participant)
    del values["expires_at"]
    return canonical(values)


def decode_participants(flat: Sequence[str], now: float) -> tuple[Participant, ...]:
    """The live participants of a ``"seq|expires_at|json"`` hash, in joined order."""
    live: list[tuple[int, Participant]] = []
    for value in flat[1::2]:
        seq, expires, body = value.split("|", 2)
        expires_at = float(expires)
        if now < expires_at:
            live.append((int(seq), Participant(expires_at=expires_at, **_decode(body))))
    live.sort(key=lambda item: item[0])
    return tuple(participant for _, participant in live)


def decode_state(reply: Sequence[Sequence[str]], now: float) -> RoomState | None:
    """A ``{room hash, participants hash}`` reply as a live room, or ``None``."""
    room_flat, participants_flat = reply
    if not room_flat:
        return None
    room, generation = decode_room(room_flat)
    if now >= room.expires_at:
        return None
    return RoomState(room, decode_participants(participants_flat, now), generation)


def decode_log(flat: Sequence[str], since: int, now: float) -> tuple[str, ...]:
    """Tokens of a ``token -> "at|expires"`` deletion log deleted at or after ``since``."""
    deleted = []
    for token, entry in pairs(flat).items():
        at, expires = entry.split("|", 1)
        if float(at) >= since and now < float(expires):
            deleted.append(token)
    return tuple(sorted(deleted))
