"""How the Redis backends (Loop's and the MSISDN gateway's) report driver failures."""

from __future__ import annotations

from redis.exceptions import RedisClusterException, RedisError

from loop.storage.errors import translating

DRIVER_ERRORS = (RedisError, RedisClusterException, OSError)
"""What redis-py raises, unreachable servers (``OSError``) and clusters included."""

wrap_redis_error = translating(*DRIVER_ERRORS)
"""Every public method of a Redis backend: driver errors become ``BackendError``."""
