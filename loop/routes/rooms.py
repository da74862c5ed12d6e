"""``/rooms`` and the draft's ``/room-url`` aliases (loop-api.md §4.12; decisions D2).

Handlers keep the spec's order of checks. Bodies are parsed first, as the original's
app-wide body parser did. Where the spec puts the room lookup before authentication
(``GET``/``POST /rooms/{token}``), the caller is verified first all the same, and the
room looked up only when it failed (its 404 wins): a remembered session is verified with
no storage call, and its session check then rides on the room's lookup, so such a
request costs one round trip (:mod:`loop.storage.checks`). ``refresh`` and ``leave``
skip the lookup altogether: their own storage call refuses a missing room or seat.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from loop import auth, errors
from loop.auth import HawkCaller, ParticipantToken, RoomCaller
from loop.rooms import lifecycle, participation, validation
from loop.rooms.validation import ALERT
from loop.rooms.views import full_view, public_view, room_url
from loop.services import Services, services
from loop.storage import RoomState, SessionCheckFailed
from loop.storage.checks import unchecked
from loop.web.clients import request_client
from loop.web.requests import json_body, json_response, no_content, require_params

SEAT_ACTIONS = ("refresh", "leave")
ROOM_NOT_FOUND = {
    "code": 404,
    "errno": int(errors.Errno.INVALID_TOKEN),
    "error": "Room not found.",
}


# -- /rooms -----------------------------------------------------------------------------------


async def create_room(request: Request) -> Response:
    """``POST /rooms``: 201 with the new room's token, link and expiry."""
    return await _create(request, status=201)


async def create_room_url(request: Request) -> Response:
    """``POST /room-url``: the draft's create, answered 200 (D2)."""
    return await _create(request, status=200)


async def _create(request: Request, status: int) -> Response:
    body = await json_body(request)
    caller = await auth.require_hawk(request)
    require_params(request, body, ("context", "roomName"), "roomOwner", "maxSize")
    svc = services(request)
    with _alerting(body):
        params = validation.room_params(body, svc.settings.rooms)
        channel = validation.channel(body)
        room = await lifecycle.create(svc, caller, params, channel)
    answer = {
        "roomToken": room.token,
        "roomUrl": room_url(svc.settings.rooms, room.token),
        "expiresAt": room.expires_at,
    }
    return json_response(answer, status, headers=_alert(body))


async def list_rooms(request: Request) -> Response:
    """``GET /rooms[?version=]``: full views, then tombstones of recent deletions."""
    caller = await auth.require_hawk(request)
    since = validation.version(request.query_params.get("version"))
    return json_response(await lifecycle.listing(services(request), caller, since))


async def delete_rooms(request: Request) -> Response:
    """``PATCH /rooms`` (bulk delete): 207 with one answer per token, 404 if none went."""
    body = await json_body(request)
    caller = await auth.require_hawk(request)
    require_params(request, body, "deleteRoomTokens")
    tokens = validation.delete_tokens(body)
    deleted = set(await lifecycle.delete_many(services(request), caller, tokens))
    responses = {token: {"code": 200} if token in deleted else ROOM_NOT_FOUND for token in tokens}
    return json_response({"responses": responses}, 207 if deleted else 404)


# -- /rooms/{token} ---------------------------------------------------------------------------


async def get_room(request: Request) -> Response:
    """``GET /rooms/{token}``: the full view for members and the owner, else the public
    one (also for authenticated strangers, D10)."""
    state, caller = await _room_and_caller(request)
    settings = services(request).settings.rooms
    if _is_member(caller, state):
        return json_response(full_view(state, settings))
    return json_response(public_view(state.room, settings))


async def update_room(request: Request) -> Response:
    """``PATCH /rooms/{token}`` and ``PUT /room-url/{token}``: 401, 404, 400, then 403."""
    body = await json_body(request)
    svc = services(request)
    token = request.path_params["token"]
    caller = await auth.require_hawk(request)
    state = await _live_room(request, token)
    with _alerting(body):
        params = validation.room_params(body, svc.settings.rooms)
        lifecycle.check_owner(caller, state.room)
        room = await lifecycle.update(svc, caller, state, params)
    return json_response({"expiresAt": room.expires_at}, headers=_alert(body))


async def delete_room(request: Request) -> Response:
    """``DELETE /rooms/{token}`` and ``DELETE /room-url/{token}``."""
    caller = await auth.require_hawk(request)
    await lifecycle.delete(services(request), caller, request.path_params["token"])
    return no_content()


async def room_action(request: Request) -> Response:
    """``POST /rooms/{token}``: ``join`` (anyone), ``refresh``, ``status``, ``leave``,
    ``logDomain`` (participants)."""
    body = await json_body(request)
    svc = services(request)
    token = request.path_params["token"]
    action = body.get("action")
    if action in SEAT_ACTIONS:
        caller = await _caller(request)
        pid = participation.participant_id(caller)
        if pid is not None:  # else the room's 404 comes before the missing credentials
            return await _seat_action(svc, caller, token, pid, body)
    elif action == "join" and (remembered := svc.storage.recent_rooms.get(token)):
        caller = await _caller(request)
        if not isinstance(caller, ParticipantToken):  # checked against a read of the room
            return await _join(request, caller, remembered, body, remembered=True)
    state, caller = await _room_and_caller(request)
    action = validation.action(body)
    if action == "join":
        return await _join(request, caller, state, body, remembered=False)
    pid = participation.require_credentials(caller)
    if action == "status":
        participation.status(state, pid, validation.status(body))
    else:
        require_params(request, body, "domains")
        participation.log_domains(svc, state, pid, validation.domains(body))
    return no_content()


# -- helpers ----------------------------------------------------------------------------------


async def _live_room(request: Request, token: str) -> RoomState:
    return await lifecycle.live(services(request), token)


async def _join(
    request: Request,
    caller: RoomCaller,
    state: RoomState,
    body: Mapping[str, Any],
    *,
    remembered: bool,
) -> Response:
    require_params(request, body, "displayName", "clientMaxSize")
    name, size = validation.join_params(body)
    address = request_client(request)
    joined = await participation.join(
        services(request), caller, state, name, size, address=address, remembered=remembered
    )
    return json_response(joined)


async def _seat_action(
    svc: Services, caller: RoomCaller, token: str, pid: str, body: Mapping[str, Any]
) -> Response:
    """``refresh`` or ``leave`` by a caller with credentials, in one storage call that
    refuses a missing room (404) or seat (the answers the room's lookup would give)."""
    if body["action"] == "refresh":
        return json_response(await participation.refresh(svc, caller, token, pid))
    await participation.leave(svc, caller, token, pid)
    return no_content()


async def _caller(request: Request) -> RoomCaller:
    """The caller (none, Hawk, Basic); when its credentials are refused, a missing room's
    404/105 is the answer instead."""
    try:
        return await auth.room_caller(request)
    except errors.LoopError:
        await _live_room(request, request.path_params["token"])
        raise


async def _room_and_caller(request: Request) -> tuple[RoomState, RoomCaller]:
    """The room (its 404/105 wins) and the caller; a Basic token must belong to a live
    participant of this room (§3.6)."""
    token = request.path_params["token"]
    caller = await _caller(request)
    try:
        state = await _live_room(request, token)
    except SessionCheckFailed:
        with unchecked():
            await _live_room(request, token)  # a missing room's 404 wins here too
        raise
    participation.check_participant_token(caller, state)
    return state, caller


def _is_member(caller: RoomCaller, state: RoomState) -> bool:
    if isinstance(caller, ParticipantToken):
        return True  # checked against the participants already
    if isinstance(caller, HawkCaller):
        is_owner = caller.session.user == state.room.owner
        return is_owner or participation.is_participant(state, caller.session.hawk_id_hmac)
    return False


def _alert(body: Mapping[str, Any]) -> dict[str, str]:
    return ALERT if "roomName" in body else {}


@contextlib.contextmanager
def _alerting(body: Mapping[str, Any]) -> Iterator[None]:
    """Errors found once ``roomName`` was seen still carry the ``Alert`` header."""
    try:
        yield
    except errors.LoopError as exc:
        exc.headers.update(_alert(body))
        raise


routes: list[BaseRoute] = [
    Route("/rooms", create_room, methods=["POST"]),
    Route("/rooms", list_rooms, methods=["GET"]),
    Route("/rooms", delete_rooms, methods=["PATCH"]),
    Route("/rooms/{token}", get_room, methods=["GET"]),
    Route("/rooms/{token}", update_room, methods=["PATCH"]),
    Route("/rooms/{token}", delete_room, methods=["DELETE"]),
    Route("/rooms/{token}", room_action, methods=["POST"]),
    Route("/room-url", create_room_url, methods=["POST"]),
    Route("/room-url/{token}", update_room, methods=["PUT"]),
    Route("/room-url/{token}", delete_room, methods=["DELETE"]),
]
