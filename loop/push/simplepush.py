"""SimplePush (loop-api.md §7): ``PUT <url>`` with the form body ``version=<n>``.

The device's push service wakes the device, which then fetches ``GET /calls?version=<n>``
or ``GET /rooms?version=<n>``; the version is all the payload there is.
"""

from __future__ import annotations

import httpx

from loop.clock import Clock
from loop.push.base import Delivery, Sender
from loop.storage import PushTarget, Topic

_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


class SimplePushSender(Sender):
    kind = "simplepush"

    def __init__(self, http: httpx.AsyncClient, *, clock: Clock) -> None:
        self.http = http
        self.clock = clock

    async def send(self, target: PushTarget, *, topic: Topic, version: int) -> Delivery:
        if not isinstance(target, str):
            raise TypeError("a SimplePush target is a URL string")
        response = await self.http.put(target, content=f"version={version}", headers=_HEADERS)
        return Delivery.from_response(response, now=self.clock.now())
