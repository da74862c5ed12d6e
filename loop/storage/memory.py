"""What a process remembers of the store between requests, bounded: the sessions it has
seen (:class:`~loop.storage.checks.KnownSessions`), the rooms it last read or changed
(:class:`~loop.storage.rooms.RecentRooms`). Never a source of truth: each user says what
the store confirms before a remembered value is relied upon."""

from __future__ import annotations

from typing import Generic, TypeVar

V = TypeVar("V")


class BoundedMemory(Generic[V]):
    """Values by key, at most ``capacity``: past it the oldest remembered goes."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._values: dict[str, V] = {}

    def get(self, key: str) -> V | None:
        return self._values.get(key)

    def put(self, key: str, value: V) -> None:
        values = self._values
        values.pop(key, None)
        values[key] = value
        if len(values) > self._capacity:
            del values[next(iter(values))]

    def forget(self, key: str) -> None:
        self._values.pop(key, None)

    def __len__(self) -> int:
        return len(self._values)
