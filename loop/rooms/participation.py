"""Taking part in a room: join, refresh, leave, status, logDomain (loop-api.md §4.12,
§5.2-5.4; decisions D3, D7, D26).

A participant is a device (its ``hawkIdHmac``) or, for a link-clicker, the HMAC of the
media token it received; participation is soft state that lapses after
``rooms.participant_ttl`` seconds unless refreshed.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from typing import Any

from loop import errors, quotas
from loop.callers import HawkCaller, ParticipantToken, RoomCaller, participant_token_id
from loop.crypto import decrypt, encrypt, session_identity_key
from loop.jsonutil import dumps
from loop.media import MediaSession, Role
from loop.rooms.capacity import Refusal, refusal
from loop.rooms.lifecycle import HOUR, live, notify_owner
from loop.rooms.validation import Status
from loop.rooms.views import account_key
from loop.services import RoomServices
from loop.signalling import events as signalling
from loop.storage import JoinConflict, NotParticipant, Participant, RoomNotFound, RoomState

logger = logging.getLogger("loop.rooms")

JOIN_ATTEMPTS = 5
"""Joins decided on participants that changed meanwhile are re-decided this many times."""
NOT_IN_ROOM = "Can't update status for a room you aren't in."
NOT_JOINED = "Unable to leave a room you have not joined."


def participant_id(caller: RoomCaller) -> str | None:
    """How the caller is filed among participants; ``None`` without credentials."""
    if isinstance(caller, HawkCaller):
        return caller.session.hawk_id_hmac
    if isinstance(caller, ParticipantToken):
        return caller.participant_id
    return None


def is_participant(state: RoomState, pid: str | None) -> bool:
    return pid is not None and any(p.id == pid for p in state.participants)


def check_participant_token(caller: RoomCaller, state: RoomState) -> None:
    """A Basic credential is valid only while its participant is in this room (§3.6)."""
    if isinstance(caller, ParticipantToken) and not is_participant(state, caller.participant_id):
        raise errors.invalid_participant_token()


def require_credentials(caller: RoomCaller) -> str:
    """Every action but ``join`` needs a Hawk session or a participant token."""
    pid = participant_id(caller)
    if pid is None:
        raise errors.unauthorized("Token,Hawk")
    return pid


@dataclasses.dataclass(frozen=True, slots=True)
class Joiner:
    """What stays the same across the attempts of one join."""

    caller: RoomCaller
    user: str | None
    """The joiner's user key; ``None`` for a link-clicker."""
    display_name: str
    client_max_size: int
    identity: str | None
    connection_id: str


async def join(
    services: RoomServices,
    caller: RoomCaller,
    state: RoomState,
    display_name: str,
    client_max_size: int,
    *,
    address: str | None,
    remembered: bool = False,
) -> dict[str, Any]:
    """Seat the caller and hand it a media token; 202/121 when there is no seat for it;
    429 errno 117 past ``limits.joins_per_address`` for a link-clicker at ``address``.

    The seat is decided on the participants read, and ``join_room`` refuses the write if
    they changed since (another join, an update): then the decision is made again on a
    fresh read. A ``remembered`` state (:class:`~loop.storage.rooms.RecentRooms`, not
    read for this request) can only look fuller than the room is, so a refusal decided
    on it is decided again on a fresh read before it is answered.
    """
    user = caller.session.user if isinstance(caller, HawkCaller) else None
    limits = quotas.anonymous_join(services.settings, address) if user is None else ()
    joiner = Joiner(
        caller, user, display_name, client_max_size, _identity(caller), str(uuid.uuid4())
    )
    created: MediaSession | None = None
    fresh = not remembered
    for _ in range(JOIN_ATTEMPTS):
        if not fresh and _refused(state, joiner):
            state, fresh = await live(services, state.room.token), True
        _check_seat(state, joiner)
        media, created = await _media_session(services, state, created)
        now = services.clock.now()
        token, participant = _seat(services, state, joiner, media, now)
        try:
            with quotas.answered():
                change = await services.storage.join_room(
                    state.room.token,
                    participant,
                    generation=state.generation,
                    now=now,
                    room_expires_at=_touched_expiry(services, now),
                    media_session=(media.session_id, media.api_key) if media is created else None,
                    limits=limits,
                )
        except JoinConflict:
            state, fresh = await live(services, state.room.token), True
            continue
        except RoomNotFound:
            services.storage.recent_rooms.forget(state.room.token)
            raise errors.token_not_found() from None
        services.storage.recent_rooms.remember(_joined(state, participant, created))
        notify_owner(services, change, "join")
        return {
            "apiKey": media.api_key,
            "sessionId": media.session_id,
            "sessionToken": token,
            "expires": participant_ttl(services),
            **services.media.join_extras(),
        }
    logger.warning("rooms.join.contended", extra={"attempts": JOIN_ATTEMPTS})
    raise errors.service_unavailable(services.settings.retry_after)


def _seat(
    services: RoomServices, state: RoomState, joiner: Joiner, media: MediaSession, now: float
) -> tuple[str, Participant]:
    """The joiner's media token and participant record (pure computation)."""
    token = services.media.mint_token(
        media,
        role=_role(joiner.user, state),
        expires_at=int(now) + services.settings.tokbox.token_duration,
        data=_token_data(joiner),
        room=state.room.token,
        participant=(
            joiner.caller.session.hawk_id_hmac if isinstance(joiner.caller, HawkCaller) else None
        ),
    )
    participant = Participant(
        id=_joiner_id(services, joiner.caller, token),
        connection_id=joiner.connection_id,
        display_name=joiner.display_name,
        client_max_size=joiner.client_max_size,
        expires_at=now + services.settings.rooms.participant_ttl,
        user=joiner.user,
        account=_sealed_account(services, state, joiner.identity),
    )
    return token, participant


def participant_ttl(services: RoomServices) -> int | float:
    """``expires`` as clients expect it: a number, integral when the setting is."""
    ttl = services.settings.rooms.participant_ttl
    return int(ttl) if float(ttl).is_integer() else ttl


def _joiner_id(services: RoomServices, caller: RoomCaller, token: str) -> str:
    """A device joins as itself; a link-clicker as its new media token, which it will
    present as its Basic credential (even when it rejoins with an older one)."""
    if isinstance(caller, HawkCaller):
        return caller.session.hawk_id_hmac
    return participant_token_id(services.settings, token)


def _joined(state: RoomState, participant: Participant, created: MediaSession | None) -> RoomState:
    """The room as ``join_room`` left it (it moved the generation on by one)."""
    room = state.room
    if created is not None:
        room = dataclasses.replace(room, session_id=created.session_id, api_key=created.api_key)
    others = tuple(p for p in state.participants if p.id != participant.id)
    return RoomState(room, (*others, participant), state.generation + 1)


def _refused(state: RoomState, joiner: Joiner) -> bool:
    try:
        _check_seat(state, joiner)
    except errors.LoopError:
        return True
    return False


def _check_seat(state: RoomState, joiner: Joiner) -> None:
    outcome = refusal(
        max_size=state.room.max_size,
        owner=state.room.owner,
        joiner=joiner.user,
        client_max_size=joiner.client_max_size,
        participants=state.participants,
    )
    if outcome is Refusal.ROOM_FULL:
        raise errors.room_full()
    if outcome is Refusal.CLIENT_CAPACITY:
        raise errors.client_reached_capacity()


async def _media_session(
    services: RoomServices, state: RoomState, created: MediaSession | None
) -> tuple[MediaSession, MediaSession | None]:
    """The room's media session, or a new one when the channel's credentials changed
    since the room was made (an unknown channel uses the default ones, D7). A session
    created by an earlier attempt of this join is reused."""
    room = state.room
    api_key = services.media.api_key(room.channel)
    if api_key == room.api_key:
        return MediaSession(room.session_id, room.api_key), created
    if created is None or created.api_key != api_key:
        created = await services.media.create_session(room.channel)
    return created, created


def _role(user: str | None, state: RoomState) -> Role:
    return "moderator" if user is not None and user == state.room.owner else "publisher"


def _identity(caller: RoomCaller) -> str | None:
    """A registered caller's e-mail or phone number, readable only with its Hawk id."""
    if not isinstance(caller, HawkCaller) or caller.session.encrypted_identity is None:
        return None
    try:
        key = session_identity_key(caller.hawk_id)
    except ValueError:
        return None
    return decrypt(key, caller.session.encrypted_identity)


def _sealed_account(services: RoomServices, state: RoomState, identity: str | None) -> str | None:
    if identity is None:
        return None
    return encrypt(account_key(state.room.token, services.settings.rooms.hkdf_salt), identity)


def _token_data(joiner: Joiner) -> str:
    """Who joined, for the other participants' media SDK (D3)."""
    data: dict[str, str] = {"displayName": joiner.display_name}
    if joiner.identity is not None:
        data["account"] = joiner.identity
    data["id"] = joiner.connection_id
    return dumps(data).decode("utf-8")


def _touched_expiry(services: RoomServices, now: float) -> int:
    """Any join or leave keeps the room alive ``rooms.extend_ttl`` hours more (§5.6)."""
    return int(now) + services.settings.rooms.extend_ttl * HOUR


async def refresh(
    services: RoomServices, caller: RoomCaller, token: str, pid: str
) -> dict[str, Any]:
    """Extend the caller's participation; 410/111 once it has lapsed. No notification."""
    now = services.clock.now()
    try:
        await services.storage.refresh_participant(
            token, pid, now=now, expires_at=now + services.settings.rooms.participant_ttl
        )
    except NotParticipant:
        raise _seat_missing(caller, errors.participation_expired()) from None
    except RoomNotFound:
        raise errors.token_not_found() from None
    return {"expires": participant_ttl(services)}


async def leave(services: RoomServices, caller: RoomCaller, token: str, pid: str) -> None:
    missing = _seat_missing(caller, errors.not_room_participant(NOT_JOINED))
    await _end_participation(services, token, pid, "left", missing=missing)


def _seat_missing(caller: RoomCaller, otherwise: errors.LoopError) -> errors.LoopError:
    """The answer when the caller has no live seat: a Basic token is then no credential
    at all (§3.6)."""
    if isinstance(caller, ParticipantToken):
        return errors.invalid_participant_token()
    return otherwise


async def remove_participant(services: RoomServices, token: str, pid: str) -> None:
    """The moderator removed a participant over signalling: a leave on its behalf. Already
    gone (it left or lapsed meanwhile): its socket is closed all the same."""
    try:
        missing = errors.not_room_participant(NOT_JOINED)
        await _end_participation(services, token, pid, "removed", missing=missing)
    except errors.LoopError:
        await signalling.end_participant(services.signals, token, pid, "removed")


async def _end_participation(
    services: RoomServices, token: str, pid: str, reason: str, *, missing: errors.LoopError
) -> None:
    """Remove the participant, notify the owner, and close its signalling socket;
    ``missing`` is the answer when it has no live seat."""
    now = services.clock.now()
    try:
        change = await services.storage.leave_room(
            token,
            pid,
            now=now,
            room_expires_at=_touched_expiry(services, now),
            announce=(
                signalling.participant_ended(token, pid, reason)
                if services.media.signalling
                else None
            ),
        )
    except NotParticipant:
        raise missing from None
    except RoomNotFound:
        raise errors.token_not_found() from None
    notify_owner(services, change, "leave")


def status(state: RoomState, pid: str, report: Status) -> None:
    """Client telemetry: logged for participants, refused for anyone else."""
    if not is_participant(state, pid):
        raise errors.not_room_participant(NOT_IN_ROOM)
    logger.info(
        "room.status",
        extra={
            "event": _loggable(report.event),
            "state": _loggable(report.state),
            "connections": report.connections,
            "sendStreams": report.send_streams,
            "recvStreams": report.recv_streams,
        },
    )


def log_domains(
    services: RoomServices, state: RoomState, pid: str, domains: list[tuple[str, int]]
) -> None:
    """Which sites participants share (counted by ``loop.room.shared_domains``)."""
    if not is_participant(state, pid):
        raise errors.not_room_participant(NOT_IN_ROOM)
    for domain, count in domains:
        logger.info("room.shared_domain", extra={"domain": _loggable(domain), "count": count})
        services.metrics.incr("loop.room.shared_domains", count)


def _loggable(value: Any) -> str:
    """Client-chosen values are logged as short strings, whatever they are."""
    text = value if isinstance(value, str) else repr(value)
    return text[:200]
