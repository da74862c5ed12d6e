"""JSON in one place: the strict reader of what clients send (:func:`loads`), and the
encoding of answers (:func:`dumps`) and stored texts (:func:`canonical`), both compact and
UTF-8 (``ensure_ascii=False``: no ``\\u`` escapes, so a value has one text whichever part of
the server wrote it)."""

from __future__ import annotations

import json
import math
import re
from typing import Any

_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_canonical = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def dumps(value: Any) -> bytes:
    """An answer's body."""
    return _encoder.encode(value).encode("utf-8")


def canonical(value: Any) -> str:
    """Canonical JSON: keys sorted, so equal values give equal texts (what storage
    deduplicates push targets by, and what the Redis scripts compare)."""
    return _canonical.encode(value)


# -- reading ----------------------------------------------------------------------------------

MAX_DEPTH = 32
"""Nesting deeper than this is refused: no client message needs it, and the parser and every
walk over the value would otherwise recurse as deep as a 4 kB body asks."""

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
"""The integers storage holds: SQLite's INTEGER (a larger Python int fails to bind, a 500
before this bound), and the same bound keeps the JSON texts Redis stores readable alike."""

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class MalformedJson(ValueError):
    """Not JSON as RFC 8259 writes it (``NaN``, ``Infinity``), or nested beyond ``MAX_DEPTH``."""


class RefusedValue(ValueError):
    """JSON that parses but cannot be stored and read back: a lone surrogate (no UTF-8 text
    holds it), an integer beyond 64 bits, a number too large for a double."""

    def __init__(self, field: str | None, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field or 'The body'} should not hold {reason}")


_LEADING_INTEGER = re.compile(r"\s*([+-]?)0*([0-9]*)")


def fits_storage(number: int) -> bool:
    """Whether SQLite can bind it (signed 64 bits)."""
    return INT64_MIN <= number <= INT64_MAX


def leading_integer(text: str) -> int | None:
    """The integer a text starts with, as JavaScript's ``parseInt`` reads it (0 when there is
    none), for query numbers and the decimal strings D2 accepts; ``None`` when it is beyond
    what storage holds, so the caller refuses it rather than storage failing on it."""
    match = _LEADING_INTEGER.match(text)
    assert match is not None  # every part of the pattern may be empty
    sign, digits = match.groups()
    if len(digits) > len(str(INT64_MAX)):
        return None
    number = int(sign + digits) if digits else 0
    return number if fits_storage(number) else None


def loads(text: str | bytes) -> Any:
    """The one strict reader of client JSON (bodies and websocket messages).

    Everything it returns can be written by :func:`dumps` and :func:`canonical` and stored
    by either backend, so no read of a stored value can fail on what a client sent.
    Raises :class:`MalformedJson` or :class:`RefusedValue` (both ``ValueError``).
    """
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise MalformedJson("nested too deep") from None
    _check(value, None, 0)
    return value


def check_value(value: Any) -> None:
    """The same checks on a value built otherwise (an urlencoded body)."""
    _check(value, None, 0)


def _refuse_constant(name: str) -> Any:
    raise MalformedJson(f"{name} is not JSON")


def _check(value: Any, field: str | None, depth: int) -> None:
    if isinstance(value, str):
        if _LONE_SURROGATE.search(value):
            raise RefusedValue(field, "a lone surrogate")
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if not fits_storage(value):
            raise RefusedValue(field, "an integer beyond 64 bits")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise RefusedValue(field, "a number beyond a double's range")
    elif isinstance(value, list):
        _check_depth(depth)
        for item in value:
            _check(item, field, depth + 1)
    elif isinstance(value, dict):
        _check_depth(depth)
        for key, item in value.items():
            if _LONE_SURROGATE.search(key):
                raise RefusedValue(field, "a key with a lone surrogate")
            _check(item, key if field is None else f"{field}.{key}", depth + 1)


def _check_depth(depth: int) -> None:
    if depth >= MAX_DEPTH:
        raise MalformedJson(f"nested deeper than {MAX_DEPTH}")
