"""Signalling for the built-in ``webrtc`` media provider (decisions D18, docs/signalling.md).

Browsers exchange SDP offers/answers and ICE candidates through this server, over one
WebSocket each (``/signalling``), then send media to each other. Modules:

* :mod:`~loop.signalling.events` — channel names and the room events the rooms domain
  publishes (a participant left or was removed, a room was deleted);
* :mod:`~loop.signalling.messages` — what clients may send, checked, and what they get;
* :mod:`~loop.signalling.hub` — this process's connected members, the membership check
  that follows participant expiry, and the signalling health check;
* :mod:`~loop.signalling.session` — one socket's protocol: hello, relay, remove, bye.

Everything between processes goes through the storage (:mod:`loop.storage.signalling`):
members are listed there and every event is published on the channel's bus, so members on
different server processes (one Redis) see each other.
"""
