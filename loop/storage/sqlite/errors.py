"""How the SQLite backends (Loop's and the MSISDN gateway's) report driver failures."""

from __future__ import annotations

import sqlite3

from loop.storage.errors import translating

wrap_sqlite_error = translating(sqlite3.Error)
"""Every public method of a SQLite backend: ``sqlite3.Error`` becomes ``BackendError``."""
