"""JSON Schemas of the API's bodies, for its OpenAPI description (``loop.routes.openapi``).

Request schemas are built from the validators' own constants and the settings, so the
description changes with them; they describe the *valid* bodies (what a client should
send), while the validators stay the authority and answer anything else 400. Integers
may also be sent as decimal strings (D2).
"""

from __future__ import annotations

from typing import Any

from loop.calls.calls import CALL_TYPES
from loop.config import Settings
from loop.rooms.validation import ACTIONS, CONTEXT_KEYS, MAX_DISPLAY_NAME, MIN_MAX_SIZE
from loop.storage.sessions import TOPICS

Schema = dict[str, Any]

STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
BOOLEAN: Schema = {"type": "boolean"}
ANY: Schema = {}


def obj(required: tuple[str, ...] = (), /, **properties: Schema) -> Schema:
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


def integer_between(low: int, high: int | None = None) -> Schema:
    """An integer, as a JSON number or its decimal string (D2)."""
    number: Schema = {"type": "integer", "minimum": low}
    if high is not None:
        number["maximum"] = high
    return {"anyOf": [number, {"type": "string", "pattern": "^[+-]?[0-9]{1,18}$"}]}


def text(limit: int) -> Schema:
    return {"type": "string", "maxLength": limit}


# -- rooms (loop/rooms/validation.py) ---------------------------------------------------------

CONTEXT: Schema = obj(CONTEXT_KEYS, **{key: STRING for key in CONTEXT_KEYS})


def _room_fields(settings: Settings) -> dict[str, Schema]:
    rooms = settings.rooms
    return {
        "roomName": text(rooms.max_room_name_size),
        "context": CONTEXT,
        "roomOwner": text(rooms.max_room_owner_size),
        "expiresIn": integer_between(1, rooms.max_ttl),
        "maxSize": integer_between(MIN_MAX_SIZE, rooms.max_size),
    }


def room_create(settings: Settings) -> Schema:
    """``context`` or the deprecated ``roomName`` (never both), ``roomOwner``, ``maxSize``."""
    schema = obj(("roomOwner", "maxSize"), **_room_fields(settings), channel=STRING)
    schema["oneOf"] = [
        {"required": ["context"], "not": {"required": ["roomName"]}},
        {"required": ["roomName"], "not": {"required": ["context"]}},
    ]
    return schema


def room_update(settings: Settings) -> Schema:
    schema = obj(**_room_fields(settings))
    schema["not"] = {"required": ["context", "roomName"]}
    return schema


def room_action(settings: Settings) -> Schema:
    """One object per action; ``action`` (or the draft's ``operation``) names it."""
    counter = integer_between(0)
    return {
        "oneOf": [
            obj(
                ("action", "displayName", "clientMaxSize"),
                action={"const": "join"},
                displayName=text(MAX_DISPLAY_NAME),
                clientMaxSize=integer_between(1),
            ),
            obj(("action",), action={"enum": [a for a in ACTIONS if a in ("refresh", "leave")]}),
            obj(
                ("action", "event", "state", "connections", "sendStreams", "recvStreams"),
                action={"const": "status"},
                event=ANY,
                state=ANY,
                connections=counter,
                sendStreams=counter,
                recvStreams=counter,
            ),
            obj(
                ("action", "domains"),
                action={"const": "logDomain"},
                domains={
                    "type": "array",
                    "items": obj(("domain", "count"), domain=STRING, count=counter),
                },
            ),
        ]
    }


DELETE_ROOMS: Schema = obj(
    ("deleteRoomTokens",),
    deleteRoomTokens={"type": "array", "items": STRING, "minItems": 1},
)

PARTICIPANT: Schema = obj(
    ("roomConnectionId", "displayName", "owner", "id"),
    roomConnectionId=STRING,
    displayName=STRING,
    account=STRING,
    owner=BOOLEAN,
    id=STRING,
)

_PUBLIC_FIELDS: dict[str, Schema] = {
    "roomToken": STRING,
    "roomName": STRING,
    "context": {"anyOf": [{"type": "object"}, {"type": "null"}]},
    "roomOwner": {"type": ["string", "null"]},
    "roomUrl": STRING,
}

PUBLIC_ROOM: Schema = obj(("roomToken", "context", "roomOwner", "roomUrl"), **_PUBLIC_FIELDS)

FULL_ROOM: Schema = obj(
    (
        "roomToken",
        "roomUrl",
        "context",
        "roomOwner",
        "maxSize",
        "clientMaxSize",
        "creationTime",
        "expiresAt",
        "ctime",
        "participants",
        "urlCreationDate",
        "lastUsed",
        "currSize",
    ),
    **_PUBLIC_FIELDS,
    maxSize=INTEGER,
    clientMaxSize=INTEGER,
    creationTime=INTEGER,
    expiresAt=INTEGER,
    ctime=INTEGER,
    participants={"type": "array", "items": PARTICIPANT},
    urlCreationDate=INTEGER,
    lastUsed=INTEGER,
    currSize=INTEGER,
)

ROOM_VIEW: Schema = {"anyOf": [FULL_ROOM, PUBLIC_ROOM]}

TOMBSTONE: Schema = obj(("roomToken", "deleted"), roomToken=STRING, deleted={"const": True})

ROOM_LIST: Schema = {"type": "array", "items": {"anyOf": [FULL_ROOM, TOMBSTONE]}}

ROOM_CREATED: Schema = obj(
    ("roomToken", "roomUrl", "expiresAt"), roomToken=STRING, roomUrl=STRING, expiresAt=INTEGER
)

EXPIRES_AT: Schema = obj(("expiresAt",), expiresAt=INTEGER)

JOINED: Schema = obj(
    ("apiKey", "sessionId", "sessionToken", "expires"),
    apiKey=STRING,
    sessionId=STRING,
    sessionToken=STRING,
    expires=INTEGER,
    iceServers={"type": "array", "items": {"type": "object"}},
    signallingUrl=STRING,
)

REFRESHED: Schema = obj(("expires",), expires=INTEGER)

BULK_DELETED: Schema = obj(
    ("responses",),
    responses={
        "type": "object",
        "additionalProperties": {
            "anyOf": [obj(("code",), code={"const": 200}), {"$ref": "#/components/schemas/Error"}]
        },
    },
)

# -- sessions ----------------------------------------------------------------------------------

_PUSH_TARGET: Schema = {
    "anyOf": [
        {"type": "string", "pattern": "^http"},
        obj(
            ("endpoint", "keys"),
            endpoint={"type": "string", "pattern": "^https://"},
            keys=obj(("p256dh", "auth"), p256dh=STRING, auth=STRING),
        ),
    ]
}

REGISTRATION: Schema = obj(
    simplePushURL={"type": "string", "pattern": "^http"},
    simplePushURLs={
        "type": "object",
        "properties": {topic: _PUSH_TARGET for topic in TOPICS},
        "additionalProperties": False,
    },
)

# -- call URLs and calls -------------------------------------------------------------------------


def call_url_body(settings: Settings, *, create: bool) -> Schema:
    required = ("callerId",) if create else ()
    return obj(
        required,
        callerId=STRING,
        issuer=STRING,
        subject=STRING,
        expiresIn=integer_between(1, settings.call_urls.max_timeout),
    )


CALL_URL_CREATED: Schema = obj(
    ("callUrl", "callToken", "call_url", "expiresAt"),
    callUrl=STRING,
    callToken=STRING,
    call_url=STRING,
    expiresAt=INTEGER,
)

CALL_URL_LIST: Schema = {
    "type": "array",
    "items": obj(
        ("issuer", "timestamp", "expires"),
        callerId=STRING,
        issuer=STRING,
        timestamp=INTEGER,
        expires=INTEGER,
        subject=STRING,
    ),
}


def call_body(settings: Settings, *, direct: bool) -> Schema:
    fields: dict[str, Schema] = {
        "callType": {"enum": list(CALL_TYPES)},
        "subject": text(settings.calls.max_subject_size),
        "channel": STRING,
    }
    if direct:
        fields["calleeId"] = {"anyOf": [STRING, {"type": "array", "items": STRING}]}
        return obj(("calleeId", "callType"), **fields)
    return obj(("callType",), **fields)


CALL_STARTED: Schema = obj(
    ("callId", "websocketToken", "sessionId", "sessionToken", "apiKey", "progressURL"),
    callId=STRING,
    websocketToken=STRING,
    sessionId=STRING,
    sessionToken=STRING,
    apiKey=STRING,
    progressURL=STRING,
)

CALL_LIST: Schema = obj(
    ("calls",),
    calls={
        "type": "array",
        "items": obj(
            ("callId", "callType", "websocketToken", "progressURL"),
            callId=STRING,
            callType=STRING,
            callerId=STRING,
            websocketToken=STRING,
            apiKey=STRING,
            sessionId=STRING,
            sessionToken=STRING,
            progressURL=STRING,
            subject=STRING,
            callUrl=STRING,
            call_url=STRING,
            callToken=STRING,
            urlCreationDate=INTEGER,
        ),
    },
)

CALL_URL_INFO: Schema = obj(
    ("calleeFriendlyName", "urlCreationDate"), calleeFriendlyName=STRING, urlCreationDate=INTEGER
)

# -- service information -------------------------------------------------------------------------

SERVICE_INFO: Schema = obj(
    ("name", "description", "homepage", "endpoint", "fakeTokBox", "fxaOAuth", "i18n"),
    name=STRING,
    description=STRING,
    version=STRING,
    homepage=STRING,
    endpoint=STRING,
    fakeTokBox=BOOLEAN,
    fxaOAuth=BOOLEAN,
    i18n=obj(("defaultLang",), defaultLang=STRING, lang=STRING),
    rev=STRING,
    branch=STRING,
)

HEARTBEAT: Schema = obj(
    ("storage", "provider", "push", "fxaVerifier"),
    storage=BOOLEAN,
    provider=BOOLEAN,
    push=BOOLEAN,
    fxaVerifier=BOOLEAN,
    message=STRING,
)

VERSION: Schema = obj(
    ("source", "version", "commit", "build"),
    source=STRING,
    version=STRING,
    commit=STRING,
    build=STRING,
)

PUSH_CONFIG: Schema = obj(
    ("pushServerURI",), pushServerURI={"type": ["string", "null"]}, vapidPublicKey=STRING
)

EVENT: Schema = obj(("event", "action", "label"), event=STRING, action=STRING, label=STRING)

OAUTH_PARAMS: Schema = obj(
    ("client_id", "redirect_uri", "profile_uri", "content_uri", "oauth_uri", "scope", "state"),
    client_id=STRING,
    redirect_uri=STRING,
    profile_uri=STRING,
    content_uri=STRING,
    oauth_uri=STRING,
    scope=STRING,
    state=STRING,
)

OAUTH_TOKEN: Schema = obj(access_token=STRING)

OAUTH_GRANT: Schema = obj(token_type=STRING, access_token=STRING, scope=ANY)

OAUTH_CODE: Schema = obj(("state", "code"), state=STRING, code=STRING)

EMPTY: Schema = {"type": "object", "maxProperties": 0}

DOCUMENT: Schema = obj(("openapi", "info", "paths"), openapi=STRING, info=ANY, paths=ANY)

VIDEUR: Schema = obj(("service",), service=obj(("location", "version", "resources")))
