"""The operator's view of a store (``loop-server admin``): figures, a purge of expired data,
and a dump of every live record in a backend-neutral form, so a store can be backed up and
moved between SQLite and Redis.

**The dump.** A dump is a stream of *records*, plain JSON objects with a ``kind``; the
file format around them (header, JSON lines) belongs to :mod:`loop.admin`. Each kind is
self-contained, so a backend writes one record with no knowledge of the others:

* ``secret``: ``name``, ``value`` — the generated secrets, so Hawk ids, user MACs, room
  keys and media tokens derived from them stay valid after a move;
* ``session``: ``device`` (the Hawk id HMAC), ``hawk_key``, ``user_mac``,
  ``encrypted_identity``, ``expires_at``; its ``push`` registrations (``user``, ``topic``,
  ``target``; Web Push subscriptions are targets), its replay-protection ``nonces``
  (``member``, ``expires_at``) and its FxA ``oauth`` record (``state``,
  ``state_expires_at``, ``token``, ``token_expires_at``) or ``null``;
* ``room``: every :class:`~loop.storage.Room` field, ``generation``, and its live
  ``participants`` in joined order (every :class:`~loop.storage.Participant` field);
* ``deleted_room``: ``owner``, ``token``, ``deleted_at``, ``expires_at`` (what ``GET
  /rooms?version=`` reports as deleted);
* ``call_url``: every :class:`~loop.storage.calls.CallUrl` field;
* ``call``: ``call`` (the :class:`~loop.storage.calls.Call` as JSON), ``users`` it is
  filed under, its progress ``markers``, ``reason``, and connected ``callers`` and
  ``callees``.

Only live records are dumped. Not dumped, on purpose: the call-URL rate-limit windows, the
signalling members (live sockets of running processes) and the heartbeat, which are all
rebuilt by a running server within seconds. A concern that adds lasting records must add
its kind here and to both backends' ``admin`` modules.

:func:`check_record` validates a record before any backend sees it, so a hand-edited or
truncated dump fails with the field it got wrong, never half-way through a backend write.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from loop.storage.calls import Call, CallUrl
from loop.storage.errors import StorageError
from loop.storage.rooms import Participant, Room
from loop.storage.sessions import TOPICS

Record = dict[str, Any]

_NUMBER = (int, float)
_OPTIONAL_TEXT = (str, type(None))
_ANY = object
_ANNOTATIONS: dict[str, Any] = {
    "str": str,
    "int": int,
    "float": _NUMBER,
    "str | None": _OPTIONAL_TEXT,
    "int | None": (int, type(None)),
    "dict[str, Any] | None": (dict, type(None)),
}


def _typed_fields(record_type: Any) -> dict[str, Any]:
    """A storage dataclass's fields and the JSON types their annotations allow."""
    return {
        field.name: _ANNOTATIONS.get(str(field.type), _ANY)
        for field in dataclasses.fields(record_type)
    }


_FIELDS: dict[str, dict[str, Any]] = {
    "secret": {"name": str, "value": str},
    "session": {
        "device": str,
        "hawk_key": str,
        "user_mac": _OPTIONAL_TEXT,
        "encrypted_identity": _OPTIONAL_TEXT,
        "expires_at": _NUMBER,
        "push": list,
        "nonces": list,
        "oauth": (dict, type(None)),
    },
    "room": {
        **_typed_fields(Room),
        "generation": int,
        "participants": list,
    },
    "deleted_room": {"owner": str, "token": str, "deleted_at": _NUMBER, "expires_at": _NUMBER},
    "call_url": _typed_fields(CallUrl),
    "call": {
        "call": dict,
        "users": list,
        "markers": list,
        "reason": _OPTIONAL_TEXT,
        "callers": int,
        "callees": int,
    },
}
KINDS = tuple(_FIELDS)
"""Every kind of record, in the order backends dump them."""

_PUSH = {"user": str, "topic": str, "target": _ANY}
_NONCE = {"member": str, "expires_at": _NUMBER}
_OAUTH = {
    "state": _OPTIONAL_TEXT,
    "state_expires_at": _NUMBER,
    "token": _OPTIONAL_TEXT,
    "token_expires_at": _NUMBER,
}


class InvalidRecord(StorageError):
    """A dump record with an unknown kind, a missing or extra field, or a wrong type."""


def check_record(record: Any) -> Record:
    """``record`` itself if it is a well-formed dump record, else :class:`InvalidRecord`."""
    if not isinstance(record, dict) or record.get("kind") not in _FIELDS:
        kind = record.get("kind") if isinstance(record, dict) else None
        raise InvalidRecord(f"unknown record kind {kind!r}")
    kind = record["kind"]
    _check_fields(kind, {k: v for k, v in record.items() if k != "kind"}, _FIELDS[kind])
    if kind == "session":
        _check_items(kind, "push", record["push"], _PUSH)
        if any(push["topic"] not in TOPICS for push in record["push"]):
            raise InvalidRecord(f"session: push topics are {sorted(TOPICS)}")
        _check_items(kind, "nonces", record["nonces"], _NONCE)
        if record["oauth"] is not None:
            _check_fields("session.oauth", record["oauth"], _OAUTH)
    elif kind == "room":
        _check_items(kind, "participants", record["participants"], _typed_fields(Participant))
    elif kind == "call":
        _check_fields("call.call", record["call"], _typed_fields(Call))
        if not all(isinstance(item, str) for item in (*record["users"], *record["markers"])):
            raise InvalidRecord("call: users and markers must be strings")
    return record


def _check_fields(kind: str, values: Mapping[str, Any], fields: Mapping[str, Any]) -> None:
    if values.keys() != fields.keys():
        missing = sorted(fields.keys() - values.keys())
        extra = sorted(values.keys() - fields.keys())
        raise InvalidRecord(f"{kind}: missing fields {missing}, unknown fields {extra}")
    for name, expected in fields.items():
        value = values[name]
        if expected is _ANY:
            continue
        if isinstance(value, bool) or not isinstance(value, expected):
            raise InvalidRecord(f"{kind}: {name} has the wrong type")


def _check_items(kind: str, name: str, items: Sequence[Any], fields: Mapping[str, Any]) -> None:
    for item in items:
        if not isinstance(item, dict):
            raise InvalidRecord(f"{kind}: {name} must hold objects")
        _check_fields(f"{kind}.{name}", item, fields)


@dataclasses.dataclass(frozen=True, slots=True)
class StoreFigures:
    """What ``admin stats`` prints: live records, and what the store takes up."""

    backend: str
    users: int
    """Distinct identities with a live session."""
    sessions: int
    rooms: int
    participants: int
    """Live participants of live rooms (people in a room right now)."""
    calls: int
    call_urls: int
    push_registrations: int
    """Live (device, user, topic) targets, Web Push subscriptions included."""
    size_bytes: int
    """The database file(s) on disk (SQLite) or ``used_memory`` (Redis)."""
    keys: int | None = None
    """Redis only: the database's key count."""


@dataclasses.dataclass(frozen=True, slots=True)
class Activity:
    """Who is in a room right now: cheap enough to read every few seconds (the metrics
    job), unlike :class:`StoreFigures`."""

    rooms: int
    """Live rooms with at least one live participant."""
    participants: int


class AdminStorage(abc.ABC):
    """Operator work on a whole store. Unlike the request path, these may take long
    (they read or write everything), so they are only run by ``loop-server admin``."""

    @abc.abstractmethod
    async def figures(self, *, now: float) -> StoreFigures:
        """Count the live records and measure the store."""

    @abc.abstractmethod
    async def activity(self, *, now: float) -> Activity:
        """Rooms in use and their participants, from the participant index alone (one
        round trip, proportional to the people present, not to what the store holds)."""

    @abc.abstractmethod
    async def purge_expired(self, *, now: float) -> dict[str, int]:
        """Remove every expired record and every index entry that points at nothing, now
        rather than lazily; the number removed of each kind (only kinds with removals)."""

    @abc.abstractmethod
    def export_records(self, *, now: float) -> AsyncIterator[Record]:
        """Every live record (module docstring), secrets first."""

    @abc.abstractmethod
    async def import_records(self, records: Sequence[Record], *, now: float) -> None:
        """Write checked records (:func:`check_record`), replacing any record with the same
        key; expiry times are kept as they are (already expired ones are skipped)."""

    @abc.abstractmethod
    async def holds_data(self, *, now: float) -> bool:
        """Whether anything but secrets and the heartbeat is stored (live or not yet
        purged): an import refuses such a store unless forced."""


def expires_at(record: Record) -> float:
    """When a checked record stops being live (secrets never do)."""
    kind = record["kind"]
    if kind in ("session", "room", "deleted_room"):
        return float(record["expires_at"])
    if kind == "call_url":
        return float(record["expires"])
    if kind == "call":
        return float(record["call"]["expires_at"])
    return float("inf")
