"""The Redis side of :class:`loop.storage.accounts.AccountStorage`.

A mixin of :class:`loop.storage.redis.RedisStorage`: it uses the backend's plumbing
(``_run`` for one EVALSHA per call) and keeps its Lua scripts in this module.
"""

from __future__ import annotations


class RedisAccountStorage:
    pass
