"""``GET /openapi.json``: the API's OpenAPI 3.1 description, and the declaration of every
handler it is written from (:mod:`loop.web.openapi` builds it from the route table).

A handler served without a declaration here stops the app from starting
(:class:`~loop.web.openapi.MissingDeclaration`): the description cannot fall behind.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from loop.config import Settings
from loop.routes import accounts, calls, dockerflow, metrics, pages, registration, rooms
from loop.routes import schemas as s
from loop.web.openapi import Answer, Auth, Operation, Query, Schema, document
from loop.web.requests import json_response

TITLE = "Loop server API"


async def openapi_json(request: Request) -> Response:
    """The document built at start-up (:func:`describe`)."""
    described: Schema = request.app.state.openapi
    return json_response(described)


def describe(routes: Sequence[BaseRoute], settings: Settings) -> Schema:
    """The app's document: called once by the app factory, with its route table."""
    version = dockerflow.version_info()["version"]
    return document(routes, DECLARATIONS, settings, title=TITLE, version=version)


def _json(description: str, schema: Any, *headers: str) -> Answer:
    return Answer(description, schema, headers)


NO_CONTENT = Answer("Done; no body.")
HTML = Answer("The page, for a browser (``Accept: text/html``).", s.STRING, (), "text/html")
SERVICE_INFO = _json("Service information (§4.1).", s.SERVICE_INFO)
CREATED_HEADERS = ("Hawk-Session-Token",)


def _oauth(settings: Settings) -> bool:
    return settings.fxa_oauth.activated


def _create_room(status: int) -> Operation:
    return Operation(
        "Create a room.",
        Auth.HAWK,
        {status: _json("The new room.", s.ROOM_CREATED, "Alert")},
        errors=(403, 406, 429),
        body=s.room_create,
    )


def _call_url(create: bool) -> Callable[[Settings], Schema]:
    return lambda settings: s.call_url_body(settings, create=create)


def _call(direct: bool) -> Callable[[Settings], Schema]:
    return lambda settings: s.call_body(settings, direct=direct)


DECLARATIONS: dict[Callable[..., Any], Operation] = {
    # -- service information (§4.1-§4.5, §4.13) -----------------------------------------------
    pages.owner_client: Operation(
        "Service information; the owner's web client for browsers.",
        Auth.NONE,
        {200: Answer(SERVICE_INFO.description, s.SERVICE_INFO, also=(("text/html", s.STRING),))},
    ),
    dockerflow.root: Operation("Service information.", Auth.NONE, {200: SERVICE_INFO}),
    dockerflow.heartbeat: Operation(
        "Every backend checked.",
        Auth.NONE,
        {
            200: _json("Everything is up.", s.HEARTBEAT),
            503: _json("Something is down.", s.HEARTBEAT),
        },
    ),
    dockerflow.lbheartbeat: Operation(
        "The process answers.", Auth.NONE, {200: _json("Alive.", s.EMPTY)}
    ),
    dockerflow.version: Operation(
        "The running version.", Auth.NONE, {200: _json("Version.", s.VERSION)}
    ),
    dockerflow.api_specs: Operation(
        "The original's Videur profile of the API.", Auth.NONE, {200: _json("Profile.", s.VIDEUR)}
    ),
    openapi_json: Operation(
        "This document.", Auth.NONE, {200: _json("The OpenAPI document.", s.DOCUMENT)}
    ),
    metrics.metrics: Operation(
        "Prometheus metrics (loopback clients, or metrics.allowed_addresses).",
        Auth.NONE,
        {200: Answer("The exposition, text format 0.0.4.", s.STRING, media_type="text/plain")},
        errors=(403, 404),
        enabled=lambda settings: settings.metrics.prometheus,
    ),
    dockerflow.push_server_config: Operation(
        "The push server to use.", Auth.NONE, {200: _json("Push configuration.", s.PUSH_CONFIG)}
    ),
    dockerflow.event: Operation(
        "An analytics event.",
        Auth.HAWK,
        {204: NO_CONTENT},
        errors=(405, 406),
        body=s.EVENT,
    ),
    # -- sessions (§3.9, §4.6-§4.9) ------------------------------------------------------------
    registration.register: Operation(
        "Create or authenticate a session and register its push targets.",
        Auth.HAWK_OR_CREATE,
        {200: Answer("Registered; an empty body.", None, CREATED_HEADERS)},
        errors=(406, 429),
        body=s.REGISTRATION,
        query=(Query("simplePushURL", "The calls push target, when not in the body."),),
    ),
    registration.unregister: Operation(
        "Forget this device's push targets.", Auth.HAWK, {204: NO_CONTENT}
    ),
    registration.delete_session: Operation(
        "Log out this device.", Auth.REGISTERED, {204: NO_CONTENT}
    ),
    accounts.delete_account: Operation(
        "Forget everything of the caller's user.", Auth.HAWK, {204: NO_CONTENT}
    ),
    accounts.oauth_params: Operation(
        "Start the FxA OAuth login.",
        Auth.OAUTH_OR_CREATE,
        {200: _json("The login parameters.", s.OAUTH_PARAMS, *CREATED_HEADERS)},
        errors=(429,),
        enabled=_oauth,
    ),
    accounts.get_oauth_token: Operation(
        "The session's FxA access token.",
        Auth.HAWK,
        {200: _json("The token, when there is one.", s.OAUTH_TOKEN)},
        enabled=_oauth,
    ),
    accounts.post_oauth_token: Operation(
        "Trade the FxA code and sign in.",
        Auth.HAWK,
        {200: _json("The grant.", s.OAUTH_GRANT)},
        errors=(406,),
        body=s.OAUTH_CODE,
        enabled=_oauth,
    ),
    # -- rooms (§4.12) -------------------------------------------------------------------------
    rooms.create_room: _create_room(201),
    rooms.create_room_url: _create_room(200),
    rooms.list_rooms: Operation(
        "The caller's rooms, then tombstones of recent deletions.",
        Auth.HAWK,
        {200: _json("Full views and tombstones.", s.ROOM_LIST)},
        errors=(400,),
        query=(Query("version", "Only what changed after this version."),),
    ),
    rooms.delete_rooms: Operation(
        "Delete several rooms.",
        Auth.HAWK,
        {
            207: _json("One answer per token.", s.BULK_DELETED),
            404: _json("None was deleted.", s.BULK_DELETED),
        },
        errors=(406,),
        body=s.DELETE_ROOMS,
    ),
    rooms.get_room: Operation(
        "A room: the full view for members and the owner, else the public one.",
        Auth.ROOM,
        {200: _json("The room.", s.ROOM_VIEW)},
        errors=(404,),
    ),
    rooms.update_room: Operation(
        "Update a room.",
        Auth.HAWK,
        {200: _json("The new expiry.", s.EXPIRES_AT, "Alert")},
        errors=(403, 404),
        body=s.room_update,
    ),
    rooms.delete_room: Operation(
        "Delete a room.", Auth.HAWK, {204: NO_CONTENT}, errors=(403, 404)
    ),
    rooms.room_action: Operation(
        "Join, refresh, report status, leave, or log domains.",
        Auth.ROOM,
        {
            200: _json(
                "Joined (media credentials) or refreshed.", {"anyOf": [s.JOINED, s.REFRESHED]}
            ),
            204: NO_CONTENT,
        },
        errors=(404, 406, 410, 429),
        body=s.room_action,
    ),
    # -- call URLs and calls (§4.10-§4.11) -----------------------------------------------------
    calls.list_call_urls: Operation(
        "The caller's live call URLs.", Auth.HAWK, {200: _json("Call URLs.", s.CALL_URL_LIST)}
    ),
    calls.create_call_url: Operation(
        "Create a call URL.",
        Auth.HAWK,
        {200: _json("The new call URL.", s.CALL_URL_CREATED)},
        errors=(406, 429),
        body=_call_url(create=True),
    ),
    calls.update_call_url: Operation(
        "Update a call URL.",
        Auth.HAWK,
        {200: _json("The new expiry.", s.EXPIRES_AT)},
        errors=(404,),
        body=_call_url(create=False),
    ),
    calls.delete_call_url: Operation(
        "Delete a call URL.", Auth.HAWK, {204: NO_CONTENT}, errors=(403, 404)
    ),
    calls.list_calls: Operation(
        "The caller's calls changed since a version.",
        Auth.HAWK,
        {200: _json("Calls.", s.CALL_LIST)},
        errors=(400,),
        query=(Query("version", "Only calls changed after this version.", required=True),),
    ),
    calls.start_direct_call: Operation(
        "Call a user directly.",
        Auth.REGISTERED,
        {200: _json("The call.", s.CALL_STARTED)},
        errors=(406, 429),
        body=_call(direct=True),
    ),
    calls.call_url_info: Operation(
        "What a link clicker's page shows.",
        Auth.NONE,
        {200: _json("The call URL's owner.", s.CALL_URL_INFO)},
        errors=(404,),
    ),
    calls.start_link_call: Operation(
        "Call a call URL's owner.",
        Auth.NONE,
        {200: _json("The call.", s.CALL_STARTED)},
        errors=(404, 406, 429),
        body=_call(direct=False),
    ),
    # -- pages ---------------------------------------------------------------------------------
    pages.room_page: Operation(
        "The room page, for browsers; other clients are redirected under /v0 (then 404).",
        Auth.NONE,
        {200: HTML, 307: Answer("Not a browser: answered as an unknown path.")},
        tags=("pages",),
    ),
}

routes: list[BaseRoute] = [Route("/openapi.json", openapi_json, methods=["GET"])]
