"""Storage for the ``webrtc`` provider's signalling channels (decisions D18).

Part of the :class:`~loop.storage.Storage` interface; each backend implements it in its own
``signalling`` module (``loop/storage/sqlite/signalling.py``,
``loop/storage/redis/signalling.py``), and ``loop/storage/testing/signalling.py`` holds
its contract.

Two things must be shared by every process serving one channel:

* **who is connected** (a *member* per socket), so a newcomer's ``welcome`` lists the
  peers connected to other processes too, and so one participant has one socket: adding a
  member drops (and returns) any other member of the same participant. Members are soft
  state: each lives ``ttl`` seconds unless its process renews it, so the members of a
  process that died vanish on their own;
* **the channel's messages** (relayed signals, joins, departures, room events), published
  to every subscriber of the channel, in publication order, whichever process publishes.

SQLite serves one process, so both live in that process's memory; Redis keeps members in a
hash per channel and carries messages on pub/sub.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Callable, Sequence

from loop.storage.calls import CallSubscription

SignalListener = Callable[[str], None]
"""Called (synchronously, never awaited) with each message published on a channel."""


@dataclasses.dataclass(frozen=True, slots=True)
class Member:
    """One connected socket of a channel."""

    peer_id: str
    """Random per socket: what the other members address it by."""
    participant: str
    """Whose membership it is (one socket per participant)."""
    role: str
    data: str | None
    """The D3 JSON string shown to the other members."""


@dataclasses.dataclass(frozen=True, slots=True)
class Admission:
    peers: tuple[Member, ...]
    """The channel's other live members, oldest first."""
    replaced: tuple[Member, ...]
    """Members of the same participant that were dropped."""


class SignallingStorage(abc.ABC):
    """Signalling channels: live members and a message bus per channel."""

    @abc.abstractmethod
    async def add_member(
        self, channel: str, member: Member, *, now: float, ttl: float
    ) -> Admission:
        """List ``member`` (alive ``ttl`` seconds), dropping any other member of the same
        participant, in one atomic step."""

    @abc.abstractmethod
    async def remove_member(self, channel: str, peer_id: str) -> bool:
        """Drop a member; whether it was listed."""

    @abc.abstractmethod
    async def renew_members(
        self, channel: str, peer_ids: Sequence[str], *, now: float, ttl: float
    ) -> None:
        """Keep those of ``peer_ids`` still listed alive ``ttl`` seconds more."""

    @abc.abstractmethod
    async def list_members(self, channel: str, *, now: float) -> list[Member]:
        """The channel's live members, oldest first."""

    @abc.abstractmethod
    async def publish_signal(self, channel: str, message: str) -> None:
        """Deliver ``message`` to every subscriber of ``channel``, in every process."""

    @abc.abstractmethod
    async def subscribe_signals(self, channel: str, listener: SignalListener) -> CallSubscription:
        """Deliver every message published on ``channel`` from now on to ``listener``
        until the subscription is closed. Once this returns, none can be missed."""
