"""Records and clock values for the contract suite (also handy in route tests).

Every test starts at :data:`T0`, a whole second, so ``int(now)`` (what backends store as a
room's ``update_time`` and report as a change's ``version``) is unambiguous.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from typing import Any

from hypothesis import HealthCheck, settings

from loop.storage import Participant, PushTarget, Room, Session, Storage, Topic

T0 = 1_700_000_000
HOUR = 3600
SESSION_TTL = 30 * 24 * HOUR
NONCE_TTL = 120.0
PARTICIPANT_TTL = 300
DELETED_TTL = 1620.0

examples = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.differing_executors],
)
"""Settings for the suite's property tests. The ``storage`` fixture is shared by a test's
examples (each example uses its own room), and each backend subclass is its own executor
of the same test: both are intended, hence the suppressed health checks."""


def make_session(name: str = "device-1", *, user_mac: str | None = None) -> Session:
    identity = f"enc({user_mac})" if user_mac is not None else None
    return Session(
        hawk_id_hmac=f"hawk-{name}",
        hawk_key=f"key-{name}",
        user_mac=user_mac,
        encrypted_identity=identity,
    )


def make_room(
    token: str = "room-1", *, owner: str = "owner-1", now: int = T0, **changes: Any
) -> Room:
    """A room created at ``now`` that lives 24 hours unless ``changes`` say otherwise."""
    room = Room(
        token=token,
        owner=owner,
        room_owner="Alice's room",
        max_size=5,
        expires_in=24,
        creation_time=now,
        update_time=now,
        expires_at=now + 24 * HOUR,
        channel="default",
        session_id=f"media-session-{token}",
        api_key="api-key-1",
        room_name=None,
        context={"value": "opaque", "alg": "AES-GCM", "wrappedKey": "wrapped"},
    )
    return dataclasses.replace(room, **changes)


def make_participant(
    pid: str = "participant-1",
    *,
    now: float = T0,
    ttl: float = PARTICIPANT_TTL,
    user: str | None = None,
    **changes: Any,
) -> Participant:
    participant = Participant(
        id=pid,
        connection_id=f"connection-of-{pid}",
        display_name=f"Name of {pid}",
        client_max_size=5,
        expires_at=now + ttl,
        user=user,
        account=f"account-of-{user}" if user is not None else None,
    )
    return dataclasses.replace(participant, **changes)


def canonical(targets: Iterable[PushTarget]) -> list[str]:
    """Targets as a sorted list of JSON texts: comparable whatever their order and type."""
    return sorted(json.dumps(target, sort_keys=True) for target in targets)


async def open_session(
    storage: Storage,
    session: Session,
    *,
    now: float = T0,
    ttl: float = SESSION_TTL,
    targets: Mapping[Topic, PushTarget] | None = None,
) -> Session:
    """Create ``session`` and, when given, register its push ``targets``."""
    await storage.create_session(session, now=now, ttl=ttl)
    if targets:
        await storage.register_push(session, targets, now=now, ttl=ttl)
    return session


async def join(
    storage: Storage,
    token: str,
    participant: Participant,
    *,
    now: float = T0,
    room_expires_at: int | None = None,
) -> None:
    """Join at the room's current generation, the way the rooms endpoint does."""
    state = await storage.get_room(token, now=now)
    assert state is not None, f"room {token} should be live at {now}"
    await storage.join_room(
        token,
        participant,
        generation=state.generation,
        now=now,
        room_expires_at=room_expires_at if room_expires_at is not None else state.room.expires_at,
    )
