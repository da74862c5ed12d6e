"""The SQLite side of :class:`loop.storage.webpush.WebPushStorage`.

A mixin of :class:`loop.storage.sqlite.SQLiteStorage`: it uses the backend's plumbing
(``_transaction``, ``_run``) and brings its own tables in ``SCHEMA`` (created with
``IF NOT EXISTS`` at every start) and ``TABLES`` (emptied by ``flush``). Web Push needs no
table of its own: subscriptions live in ``push`` beside SimplePush URLs.
"""

from __future__ import annotations

import json

from loop.storage import PushTarget
from loop.storage.sqlite.errors import wrap_sqlite_error
from loop.storage.sqlite.plumbing import SQLitePlumbing

USER_TARGETS = "SELECT device, topic, target FROM push WHERE user = ?"
DELETE_TARGET = "DELETE FROM push WHERE user = ? AND device = ? AND topic = ?"


class SQLiteWebPushStorage(SQLitePlumbing):
    SCHEMA: tuple[str, ...] = ()
    TABLES: tuple[str, ...] = ()

    @wrap_sqlite_error
    async def forget_push_target(self, user: str, target: PushTarget, *, now: float) -> int:
        """Targets are compared as decoded JSON, so the stored text's form never matters;
        a user has a handful of rows (devices x topics), read through the primary key."""
        with self._transaction(now=now):
            rows = self._run(USER_TARGETS, (user,)).fetchall()
            dead = [(d, t) for d, t, text in rows if json.loads(text) == target]
            for device, topic in dead:
                self._run(DELETE_TARGET, (user, device, topic))
            return len(dead)
