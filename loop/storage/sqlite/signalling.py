"""The SQLite side of :class:`loop.storage.signalling.SignallingStorage`.

A mixin of :class:`loop.storage.sqlite.SQLiteStorage`. A SQLite server is one process, so
a channel's members and messages never need to leave it: they are kept in memory, not in
the database file (members are per-socket soft state that a restart ends anyway). Each
method still checks that the database is open, so a closed storage fails as a whole.
"""

from __future__ import annotations

from collections.abc import Sequence

from loop.storage.calls import CallSubscription
from loop.storage.fanout import HubSubscription, LocalHub
from loop.storage.signalling import Admission, Announcement, Member, SignalListener
from loop.storage.sqlite.plumbing import SQLitePlumbing


class _Listed:
    __slots__ = ("member", "expires_at")

    def __init__(self, member: Member, expires_at: float) -> None:
        self.member = member
        self.expires_at = expires_at


class SQLiteSignallingStorage(SQLitePlumbing):
    _signal_members: dict[str, dict[str, _Listed]]
    _signal_channels: LocalHub[str]

    def _signal_state(self) -> tuple[dict[str, dict[str, _Listed]], LocalHub[str]]:
        members: dict[str, dict[str, _Listed]] | None = getattr(self, "_signal_members", None)
        if members is None:
            members = self._signal_members = {}
            self._signal_channels = LocalHub[str]()
        return members, self._signal_channels

    def _announce(self, *announcements: Announcement | None) -> None:
        """Publish what a committed room change carried (see :class:`Announcement`)."""
        channels = self._signal_state()[1]
        for announcement in announcements:
            if announcement is not None:
                channels.publish(announcement.channel, announcement.message)

    def _live(self, channel: str, now: float) -> dict[str, _Listed]:
        members, _ = self._signal_state()
        listed = members.get(channel, {})
        for peer_id in [p for p, entry in listed.items() if entry.expires_at <= now]:
            del listed[peer_id]
        if not listed:
            members.pop(channel, None)
        return listed

    async def add_member(
        self, channel: str, member: Member, *, now: float, ttl: float
    ) -> Admission:
        self._check_open()
        members, _ = self._signal_state()
        listed = self._live(channel, now)
        replaced = [
            entry.member
            for entry in listed.values()
            if entry.member.participant == member.participant
        ]
        for old in replaced:
            del listed[old.peer_id]
        peers = tuple(entry.member for entry in listed.values())
        listed[member.peer_id] = _Listed(member, now + ttl)
        members[channel] = listed
        return Admission(peers, tuple(replaced))

    async def remove_member(self, channel: str, peer_id: str) -> bool:
        self._check_open()
        members, _ = self._signal_state()
        listed = members.get(channel, {})
        found = listed.pop(peer_id, None) is not None
        if not listed:
            members.pop(channel, None)
        return found

    async def renew_members(
        self, channel: str, peer_ids: Sequence[str], *, now: float, ttl: float
    ) -> None:
        self._check_open()
        listed = self._live(channel, now)
        for peer_id in peer_ids:
            entry = listed.get(peer_id)
            if entry is not None:
                entry.expires_at = now + ttl

    async def list_members(self, channel: str, *, now: float) -> list[Member]:
        self._check_open()
        return [entry.member for entry in self._live(channel, now).values()]

    async def publish_signal(self, channel: str, message: str) -> None:
        self._check_open()
        self._signal_state()[1].publish(channel, message)

    async def subscribe_signals(self, channel: str, listener: SignalListener) -> CallSubscription:
        self._check_open()
        channels = self._signal_state()[1]
        listener_id, _ = channels.add(channel, listener)

        async def release() -> None:
            channels.remove(channel, listener_id)

        return HubSubscription(release)
