"""The SQLite side of :mod:`loop.storage.quotas`: rate windows checked and counted inside
the transaction that creates the thing limited.

Each concern's creating method calls :func:`consume` first thing in its write
transaction: a full window raises :class:`~loop.storage.quotas.RateLimited` before
anything is written, and a later domain refusal rolls the count back with the rest, so
only what was created is counted. Two statements whatever the number of windows (the
windows travel as one JSON parameter); expired windows are reclaimed by the backend's
purge (:data:`PURGE`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from loop.storage.quotas import RateLimit, RateLimited, retry_after

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS rate_windows (key TEXT PRIMARY KEY,
        expires_at REAL NOT NULL, hits INTEGER NOT NULL)""",
    "DROP TABLE IF EXISTS call_url_rates",
)
"""``rate_windows`` replaces the call URLs' own ``call_url_rates`` (counts only live a
minute or so: dropping the old table loses nothing worth a migration)."""
TABLES = ("rate_windows",)
PURGE = """DELETE FROM rate_windows WHERE rowid IN
    (SELECT rowid FROM rate_windows WHERE expires_at <= ? LIMIT ?)"""

_WINDOWS = "SELECT json_extract(value, '$[0]') AS key, json_extract(value, '$[1]') AS lim, "
_WINDOWS += "json_extract(value, '$[2]') AS period FROM json_each(:windows)"
FULL_UNTIL = f"""SELECT max(w.expires_at) FROM ({_WINDOWS}) AS l
    JOIN rate_windows AS w ON w.key = l.key
    WHERE w.expires_at > :now AND w.hits >= l.lim"""
COUNT = f"""INSERT INTO rate_windows (key, expires_at, hits)
    SELECT key, :now + period, 1 FROM ({_WINDOWS}) WHERE true
    ON CONFLICT (key) DO UPDATE SET
    hits = CASE WHEN rate_windows.expires_at > :now THEN rate_windows.hits + 1 ELSE 1 END,
    expires_at = CASE WHEN rate_windows.expires_at > :now THEN rate_windows.expires_at
        ELSE excluded.expires_at END"""

Run = Callable[[str, Any], sqlite3.Cursor]


def consume(run: Run, limits: Sequence[RateLimit], now: float) -> None:
    """Count one request in every window of ``limits``, or raise
    :class:`~loop.storage.quotas.RateLimited` (counting nothing) if one is full. ``run``
    is the backend's ``_run``, inside a write transaction."""
    if not limits:
        return
    params = {"windows": json.dumps([[w.key, w.limit, w.period] for w in limits]), "now": now}
    full_until = run(FULL_UNTIL, params).fetchone()[0]
    if full_until is not None:
        raise RateLimited(retry_after(full_until - now))
    run(COUNT, params)
