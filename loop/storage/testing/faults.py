"""Fault tests (Kinto style): with the backend gone, every method raises BackendError, never
a driver error, and ``ping`` answers ``False`` so ``/__heartbeat__`` reports it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from loop.storage import BackendError, Storage
from loop.storage.testing.calls import FAULT_CALLS as CALL_METHODS
from loop.storage.testing.factories import T0, make_participant, make_room, make_session
from loop.storage.testing.signalling import FAULT_CALLS as SIGNALLING_METHODS

Call = Callable[[Storage], Awaitable[Any]]

SESSION = make_session(user_mac="mac-1")

CALLS: dict[str, Call] = {
    "flush": lambda s: s.flush(),
    "ensure_secrets": lambda s: s.ensure_secrets({"a": "1"}),
    "create_session": lambda s: s.create_session(SESSION, now=T0, ttl=100),
    "authenticate": lambda s: s.authenticate(
        SESSION.hawk_id_hmac, nonce="n", now=T0, ttl=100, nonce_ttl=60
    ),
    "bind_identity": lambda s: s.bind_identity(
        SESSION.hawk_id_hmac, user_mac="mac-1", encrypted_identity="e", now=T0, ttl=100
    ),
    "delete_session": lambda s: s.delete_session(SESSION.hawk_id_hmac),
    "register_push": lambda s: s.register_push(SESSION, {"rooms": "r"}, now=T0, ttl=100),
    "unregister_push": lambda s: s.unregister_push(SESSION),
    "push_targets": lambda s: s.push_targets("mac-1", "rooms", now=T0),
    "forget_push_target": lambda s: s.forget_push_target("mac-1", "r", now=T0),
    "create_room": lambda s: s.create_room(make_room(), now=T0),
    "get_room": lambda s: s.get_room("room-1", now=T0),
    "update_room": lambda s: s.update_room(
        "room-1", owner="owner-1", changes={"update_time": T0, "expires_at": T0 + 9}, now=T0
    ),
    "delete_room": lambda s: s.delete_room("room-1", owner="owner-1", now=T0, deleted_ttl=60),
    "delete_rooms": lambda s: s.delete_rooms(["room-1"], owner="owner-1", now=T0, deleted_ttl=60),
    "list_rooms": lambda s: s.list_rooms("owner-1", since=T0, now=T0),
    "join_room": lambda s: s.join_room(
        "room-1", make_participant(), generation=0, now=T0, room_expires_at=T0 + 9
    ),
    "refresh_participant": lambda s: s.refresh_participant(
        "room-1", "participant-1", now=T0, expires_at=T0 + 9
    ),
    "leave_room": lambda s: s.leave_room(
        "room-1", "participant-1", now=T0, room_expires_at=T0 + 9
    ),
    "reap_participants": lambda s: s.reap_participants(now=T0, room_expires_at=T0 + 9),
    "start_oauth": lambda s: s.start_oauth("hawk-1", state="s", now=T0, ttl=100),
    "get_oauth": lambda s: s.get_oauth("hawk-1", now=T0),
    "rotate_oauth_state": lambda s: s.rotate_oauth_state("hawk-1", state="s", now=T0, ttl=9),
    "set_oauth_token": lambda s: s.set_oauth_token("hawk-1", token="t", now=T0, ttl=100),
    "delete_account": lambda s: s.delete_account("mac-1", hawk_id_hmac="hawk-1", now=T0),
    **CALL_METHODS,
    **SIGNALLING_METHODS,
}


class FaultContract:
    @pytest.mark.parametrize("method", sorted(CALLS))
    async def test_backend_failure_raises_backend_error(
        self, broken_storage: Storage, method: str
    ) -> None:
        with pytest.raises(BackendError):
            await CALLS[method](broken_storage)

    async def test_ping_reports_failure_without_raising(self, broken_storage: Storage) -> None:
        assert await broken_storage.ping(now=T0) is False

    async def test_close_raises_nothing_but_backend_error(self, broken_storage: Storage) -> None:
        try:
            await broken_storage.close()
        except BackendError:
            pass

    def test_every_method_is_covered(self) -> None:
        lifecycle = {"close", "ping"}
        assert set(CALLS) == set(Storage.__abstractmethods__) - lifecycle
