"""The SQLite side of :mod:`loop.storage.quotas`: rate windows checked and counted inside
the transaction that creates the thing limited.

Each concern's creating method calls :func:`consume` first thing in its write
transaction. It counts the request in every window in one statement and reads the counts
back; if one went past its limit it raises :class:`~loop.storage.quotas.RateLimited`, and
the transaction's rollback takes the counts back with the rest, as it does when a later
domain refusal ends the transaction: only what was created is counted. Expired windows
are reclaimed by the backend's purge (:data:`PURGE`).
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

COUNT = """INSERT INTO rate_windows (key, expires_at, hits)
    SELECT json_extract(value, '$[0]'), :now + json_extract(value, '$[1]'), 1
    FROM json_each(:windows) WHERE true
    ON CONFLICT (key) DO UPDATE SET
    hits = CASE WHEN rate_windows.expires_at > :now THEN rate_windows.hits + 1 ELSE 1 END,
    expires_at = CASE WHEN rate_windows.expires_at > :now THEN rate_windows.expires_at
        ELSE excluded.expires_at END
    RETURNING key, hits, expires_at"""

Run = Callable[[str, Any], sqlite3.Cursor]


def consume(run: Run, limits: Sequence[RateLimit], now: float) -> None:
    """Count one request in every window of ``limits``, or raise
    :class:`~loop.storage.quotas.RateLimited` if that takes one past its limit (the caller's
    transaction then rolls the counts back). ``run`` is the backend's ``_run``, inside a
    write transaction."""
    if not limits:
        return
    params = {"windows": json.dumps([[w.key, w.period] for w in limits]), "now": now}
    limit = {window.key: window.limit for window in limits}
    rows = run(COUNT, params).fetchall()
    full = [expires_at for key, hits, expires_at in rows if hits > limit[key]]
    if full:
        raise RateLimited(retry_after(max(full) - now))
