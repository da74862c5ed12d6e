"""Contract of :class:`loop.storage.webpush.WebPushStorage`, run against every backend."""

from __future__ import annotations


class WebPushContract:
    pass
