"""JSON encoding in one place, compact and UTF-8, as every answer uses it."""

from __future__ import annotations

import json
from typing import Any

_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def dumps(value: Any) -> bytes:
    return _encoder.encode(value).encode("utf-8")
