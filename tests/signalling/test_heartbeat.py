"""``/__heartbeat__`` with the ``webrtc`` provider: ``provider`` follows the signalling bus
(a message must come back through the storage's pub/sub)."""

from __future__ import annotations

import contextlib

from loop.config import MediaSettings
from tests.support.redis_server import redis_server
from tests.support.rooms import harness_with

WEBRTC = MediaSettings(provider="webrtc")


async def test_healthy_on_both_backends(storage_url: str) -> None:
    async with harness_with(storage_url, media=WEBRTC, push_server_uris=[]) as harness:
        response = await harness.client.get("/__heartbeat__")
        assert response.status_code == 200, response.text
        assert response.json() == {
            "storage": True,
            "provider": True,
            "push": True,
            "fxaVerifier": True,
        }


async def test_a_lost_bus_fails_the_provider() -> None:
    """Redis stops under a running server: the storage and the signalling bus both fail,
    and the heartbeat says which, within its timeout."""
    with contextlib.ExitStack() as redis:
        url = redis.enter_context(redis_server())
        settings = {"media": WEBRTC, "push_server_uris": [], "heartbeat_timeout": 3000}
        async with harness_with(url, **settings) as harness:
            redis.close()  # the redis-server is stopped
            response = await harness.client.get("/__heartbeat__")
            assert response.status_code == 503
            body = response.json()
            assert (body["storage"], body["provider"], body["push"]) == (False, False, True)
            assert body["message"].startswith("WebRTC Error: signalling bus unavailable")
