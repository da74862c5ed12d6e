"""Contract of :class:`loop.storage.calls.CallStorage`, run against every backend."""

from __future__ import annotations


class CallContract:
    pass
