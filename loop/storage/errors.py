"""The root of every storage exception, and the decorator that keeps driver errors inside.

The bottom of the storage package's import graph: each concern's interface module
(:mod:`loop.storage.rooms`, :mod:`loop.storage.calls`...) derives its domain outcomes from
:class:`StorageError`, and each backend wraps its public methods with :func:`translating`."""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")
Method = Callable[P, Coroutine[Any, Any, R]]


class StorageError(Exception):
    """Base of everything a storage method raises."""


class BackendError(StorageError):
    """The backend failed (unreachable, read-only, corrupt...). Answered 503 errno 201."""

    def __init__(self, original: BaseException | None = None, message: str = "") -> None:
        super().__init__(message or repr(original))
        self.original = original


def translating(
    *driver_errors: type[BaseException],
) -> Callable[[Method[P, R]], Method[P, R]]:
    """A decorator for backend methods: ``driver_errors`` become :class:`BackendError` at
    the edge, so nothing above storage ever sees a driver exception."""

    def decorate(method: Method[P, R]) -> Method[P, R]:
        @functools.wraps(method)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return await method(*args, **kwargs)
            except driver_errors as error:
                raise BackendError(error) from error

        return wrapper

    return decorate
