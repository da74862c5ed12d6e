"""JSON encoding in one place: answers (:func:`dumps`) and stored texts (:func:`canonical`),
both compact and UTF-8 (``ensure_ascii=False``: no ``\\u`` escapes, so a value has one text
whichever part of the server wrote it)."""

from __future__ import annotations

import json
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
