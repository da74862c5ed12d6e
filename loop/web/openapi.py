"""The OpenAPI 3.1 description of the API, written from the route table (issue 11 item 4).

Nothing here is a hand-kept copy of the API: paths, methods and path parameters come from
the app's Starlette routes, and everything else from one :class:`Operation` declared per
handler (``loop/routes/openapi.py``), whose schemas are built from the validators' own
constants and the settings. :func:`document` refuses a route without a declaration, so a
new endpoint cannot be served undescribed. The document is built once per app at start-up
(it depends on the settings: sizes, limits, what is activated).
"""

from __future__ import annotations

import dataclasses
import enum
import http
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from starlette.routing import BaseRoute, Mount, Route

from loop.config import Settings
from loop.errors import Errno

Schema = dict[str, Any]
SchemaSource = Schema | Callable[[Settings], Schema]
"""A JSON Schema, or a function of the settings giving one (sizes and limits)."""

OPENAPI_VERSION = "3.1.0"
ERROR_REF = {"$ref": "#/components/schemas/Error"}


class Auth(enum.Enum):
    """The authentication policies of ``loop.auth``, as OpenAPI security requirements."""

    NONE = "none"
    HAWK = "hawk"
    REGISTERED = "hawk, bound to an identity"
    HAWK_OR_CREATE = "none (creates a session), Hawk or BrowserID"
    OAUTH_OR_CREATE = "none (creates a session) or Hawk"
    ROOM = "none, Hawk or a participant token"

    def security(self) -> list[dict[str, list[str]]]:
        hawk: dict[str, list[str]] = {"hawk": []}
        requirements: dict[Auth, list[dict[str, list[str]]]] = {
            Auth.NONE: [],
            Auth.HAWK: [hawk],
            Auth.REGISTERED: [hawk],
            Auth.HAWK_OR_CREATE: [{}, hawk, {"browserid": []}],
            Auth.OAUTH_OR_CREATE: [{}, hawk],
            Auth.ROOM: [{}, hawk, {"participantToken": []}],
        }
        return requirements[self]

    def statuses(self) -> tuple[int, ...]:
        """The error statuses the policy itself can answer."""
        if self is Auth.NONE:
            return ()
        if self is Auth.REGISTERED:
            return (401, 403)
        return (401,)


@dataclasses.dataclass(frozen=True)
class Answer:
    """One answer of an operation: a JSON body (``schema``), none (``None``), or
    another media type."""

    description: str
    schema: SchemaSource | None = None
    headers: tuple[str, ...] = ()
    media_type: str = "application/json"
    also: tuple[tuple[str, Schema], ...] = ()
    """Other media types the same answer may come as (``(media type, schema)``)."""


@dataclasses.dataclass(frozen=True)
class Query:
    name: str
    description: str
    required: bool = False


@dataclasses.dataclass(frozen=True)
class Operation:
    """What a handler accepts and answers, beyond what its route says.

    ``errors`` lists the error statuses the handler's own checks give; the policy's (401,
    403), a body's (400 bad JSON, 413) and the backends' (503) are added by the builder.
    ``enabled`` leaves the operation out of a server whose settings switch it off.
    """

    summary: str
    auth: Auth
    answers: Mapping[int, Answer]
    errors: tuple[int, ...] = ()
    body: SchemaSource | None = None
    query: tuple[Query, ...] = ()
    tags: tuple[str, ...] = ("api",)
    enabled: Callable[[Settings], bool] = lambda settings: True


Declarations = Mapping[Callable[..., Any], Operation]


class MissingDeclaration(LookupError):
    """A route whose handler has no :class:`Operation`: every endpoint must be described."""


HEADERS: dict[str, Schema] = {
    "Hawk-Session-Token": {
        "description": "A new session's token (64 hex digits); Hawk credentials are derived "
        "from it with HKDF (loop-api.md §3.3).",
        "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
    },
    "Server-Authorization": {
        "description": "The server's Hawk signature of the answer, on Hawk-verified requests.",
        "schema": {"type": "string"},
    },
    "WWW-Authenticate": {
        "description": "The schemes accepted, and why the credentials were refused.",
        "schema": {"type": "string"},
    },
    "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "string"}},
    "Alert": {
        "description": "Sent when the body carried the deprecated ``roomName``.",
        "schema": {"type": "string"},
    },
}

ERROR_SCHEMA: Schema = {
    "type": "object",
    "description": "Every error answer (loop-api.md §2, decisions D4).",
    "required": ["code", "errno", "error"],
    "properties": {
        "code": {"type": "integer", "description": "The HTTP status again."},
        "errno": {"type": "integer", "enum": sorted(int(errno) for errno in Errno)},
        "error": {"type": "string", "minLength": 1},
        "message": {"type": "string"},
        "info": {"type": "string"},
    },
}

SECURITY_SCHEMES: dict[str, Schema] = {
    "hawk": {
        "type": "http",
        "scheme": "hawk",
        "description": "Hawk (sha256) with credentials derived from the Hawk-Session-Token "
        "(loop-api.md §3.3).",
    },
    "browserid": {
        "type": "http",
        "scheme": "browserid",
        "description": "A BrowserID assertion; signs in and answers a Hawk-Session-Token.",
    },
    "participantToken": {
        "type": "http",
        "scheme": "basic",
        "description": "A room participant's token as the Basic user name (loop-api.md §3.6).",
    },
}

_ERROR_HEADERS = {401: ("WWW-Authenticate",), 429: ("Retry-After",), 503: ("Retry-After",)}


def document(
    routes: Sequence[BaseRoute],
    declarations: Declarations,
    settings: Settings,
    *,
    title: str,
    version: str,
) -> Schema:
    """The OpenAPI document of ``routes`` (the app's route table, mounts followed)."""
    paths: dict[str, dict[str, Any]] = {}
    for path, method, route in _http_routes(routes):
        operation = declarations.get(route.endpoint)
        if operation is None:
            raise MissingDeclaration(f"{method} {path}: {route.endpoint!r} has no declaration")
        if not operation.enabled(settings):
            continue
        item = paths.setdefault(path, {})
        if method.lower() in item:
            continue  # an earlier route answers it, as Starlette's routing does
        item[method.lower()] = _operation(path, method, route, operation, settings)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": title, "version": version},
        "servers": [{"url": settings.server_origin}],
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR_SCHEMA},
            "headers": HEADERS,
            "securitySchemes": SECURITY_SCHEMES,
        },
    }


def _http_routes(
    routes: Sequence[BaseRoute], prefix: str = ""
) -> Iterator[tuple[str, str, Route]]:
    """``(path, method, route)`` for every HTTP route, mounts followed; websockets and
    mounted apps (static files, the MSISDN gateway) are not part of this API."""
    for route in routes:
        if isinstance(route, Mount) and route.routes:
            yield from _http_routes(route.routes, prefix + route.path)
        elif isinstance(route, Route):
            for method in sorted(route.methods or ()):
                if method != "HEAD":
                    yield prefix + route.path_format, method, route


def _operation(
    path: str, method: str, route: Route, operation: Operation, settings: Settings
) -> Schema:
    spec: Schema = {
        "operationId": f"{method.lower()}{path}",
        "summary": operation.summary,
        "description": f"Authentication: {operation.auth.value}.",
        "tags": list(operation.tags),
        "security": operation.auth.security(),
        "parameters": _parameters(route, operation),
        "responses": _responses(operation, settings),
    }
    if operation.body is not None:
        spec["requestBody"] = {
            "required": False,
            "content": {"application/json": {"schema": _resolve(operation.body, settings)}},
        }
    return spec


def _parameters(route: Route, operation: Operation) -> list[Schema]:
    parameters: list[Schema] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"},
        }
        for name in route.param_convertors
    ]
    parameters += [
        {
            "name": query.name,
            "in": "query",
            "required": query.required,
            "description": query.description,
            "schema": {"type": "string"},
        }
        for query in operation.query
    ]
    return parameters


def _responses(operation: Operation, settings: Settings) -> dict[str, Schema]:
    signed = any("hawk" in requirement for requirement in operation.auth.security())
    responses = {
        str(status): _answer(answer, settings, signed and status < 400)
        for status, answer in operation.answers.items()
    }
    statuses = set(operation.errors) | set(operation.auth.statuses()) | {503}
    if operation.body is not None:
        statuses |= {400, 413}
    for status in sorted(statuses - set(operation.answers)):
        responses[str(status)] = _error(status)
    return dict(sorted(responses.items()))


def _answer(answer: Answer, settings: Settings, signed: bool) -> Schema:
    """``signed``: a Hawk-verified request's answer also carries ``Server-Authorization``."""
    spec: Schema = {"description": answer.description}
    headers = (*answer.headers, "Server-Authorization") if signed else answer.headers
    if headers:
        spec["headers"] = {name: {"$ref": f"#/components/headers/{name}"} for name in headers}
    content = {media_type: {"schema": schema} for media_type, schema in answer.also}
    if answer.schema is not None:
        content[answer.media_type] = {"schema": _resolve(answer.schema, settings)}
    if content:
        spec["content"] = content
    return spec


def _error(status: int) -> Schema:
    spec: Schema = {
        "description": http.HTTPStatus(status).phrase,
        "content": {"application/json": {"schema": ERROR_REF}},
    }
    headers = _ERROR_HEADERS.get(status, ())
    if headers:
        spec["headers"] = {name: {"$ref": f"#/components/headers/{name}"} for name in headers}
    return spec


def _resolve(source: SchemaSource, settings: Settings) -> Schema:
    return source(settings) if callable(source) else source
