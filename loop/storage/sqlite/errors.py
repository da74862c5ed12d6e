"""How the SQLite backends (Loop's and the MSISDN gateway's) report driver failures."""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, TypeVar

from loop.storage.errors import BackendError
from loop.storage.sqlite.turns import TurnCommitting

P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S")


def wrap_sqlite_error(
    method: Callable[Concatenate[S, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[S, P], Coroutine[Any, Any, R]]:
    """Every public method of a SQLite backend: ``sqlite3.Error`` becomes ``BackendError``;
    on a backend that commits a turn's calls together (:mod:`.turns`), a call returns once
    its turn is committed."""

    @functools.wraps(method)
    async def wrapper(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            result = await method(self, *args, **kwargs)
            if isinstance(self, TurnCommitting):
                await self.turn_committed()
            return result
        except sqlite3.Error as error:
            raise BackendError(error) from error

    return wrapper
