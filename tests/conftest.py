from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.redis_server import redis_server


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """One real redis-server for the whole run; tests flush it (see each fixture)."""
    with redis_server() as url:
        yield url
