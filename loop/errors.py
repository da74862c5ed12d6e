"""The one errno table and the one error writer (``loop-api.md`` §2, decisions D4).

Every error the server answers is a :class:`LoopError`; handlers registered once in the app
turn it (and any unexpected exception) into the JSON body real clients key off:
``{"code", "errno", "error"[, "message", "info"]}`` with ``error`` always a string.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from typing import Any, Protocol

from starlette.responses import Response

from loop.jsonutil import dumps


class Errno(IntEnum):
    INVALID_TOKEN = 105
    BADJSON = 106
    INVALID_PARAMETERS = 107
    MISSING_PARAMETERS = 108
    INVALID_AUTH_TOKEN = 110
    EXPIRED = 111
    REQUEST_TOO_LARGE = 113
    INVALID_OAUTH_STATE = 114
    TOO_MANY_REQUESTS = 117
    """msisdn-and-auth.md §1.3's number for a rate limit, also Loop's (decisions D32)."""
    CLIENT_REACHED_CAPACITY = 121
    USER_UNAVAILABLE = 122
    BACKEND = 201
    ROOM_FULL = 202
    NOT_ROOM_PARTICIPANT = 203
    NO_LONGER_SUPPORTED = 204
    UNDEFINED = 999


class LoopError(Exception):
    """An error answer with the spec's status, errno and literal error string."""

    def __init__(
        self,
        status: int,
        errno: Errno,
        error: str,
        *,
        message: str | None = None,
        info: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(error)
        self.status = status
        self.errno = errno
        self.error = error
        self.message = message
        self.info = info
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.status, "errno": int(self.errno), "error": self.error}
        if self.message is not None:
            body["message"] = self.message
        if self.info is not None:
            body["info"] = self.info
        return body


class ErrorAnswer(Protocol):
    """What every error type of both services carries (this :class:`LoopError`, the
    gateway's ``GatewayError``): enough to write its answer."""

    @property
    def status(self) -> int: ...
    @property
    def errno(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    def body(self) -> dict[str, Any]: ...


def error_response(error: ErrorAnswer) -> Response:
    """The one way an error becomes an HTTP answer: its JSON body, status and headers."""
    return Response(
        dumps(error.body()),
        status_code=error.status,
        headers=dict(error.headers),
        media_type="application/json",
    )


# Constructors for the errors raised from several places, so their texts live here once.


def missing_parameters(names: list[str]) -> LoopError:
    return LoopError(400, Errno.MISSING_PARAMETERS, "Missing: " + ", ".join(names))


def invalid_parameters(error: str) -> LoopError:
    return LoopError(400, Errno.INVALID_PARAMETERS, error)


def not_acceptable() -> LoopError:
    return LoopError(406, Errno.BADJSON, "Request body should be defined as application/json")


def bad_json() -> LoopError:
    return LoopError(400, Errno.BADJSON, "Invalid JSON in request body.")


def incomplete_body() -> LoopError:
    """The client went, or was cut off for stalling, before its body ended: no one reads
    this answer, but the request ends as a client error rather than a crash."""
    return LoopError(400, Errno.BADJSON, "Request body incomplete.")


def too_large(limit: int) -> LoopError:
    return LoopError(413, Errno.REQUEST_TOO_LARGE, f"Request body is larger than {limit} bytes.")


def not_found() -> LoopError:
    return LoopError(404, Errno.UNDEFINED, "Resource not found.")


def token_not_found() -> LoopError:
    return LoopError(404, Errno.INVALID_TOKEN, "Token not found.")


def service_unavailable(retry_after: int) -> LoopError:
    return LoopError(
        503,
        Errno.BACKEND,
        "Service Unavailable",
        headers={"Retry-After": str(retry_after)},
    )


def internal_error() -> LoopError:
    return LoopError(500, Errno.UNDEFINED, "Internal Server Error")


def unauthorized(
    www_authenticate: str, error: str = "Unauthorized", status: int = 401
) -> LoopError:
    return LoopError(
        status,
        Errno.INVALID_AUTH_TOKEN,
        error,
        headers={"WWW-Authenticate": www_authenticate},
    )


UNKNOWN_CREDENTIALS = "Unknown credentials"
INVALID_NONCE = "Invalid nonce"


def hawk_failure(message: str) -> LoopError:
    """A refused Hawk request: 401 ``WWW-Authenticate: Hawk error="<message>"``."""
    return unauthorized(f'Hawk error="{message}"', message)


def registered_user_required() -> LoopError:
    return LoopError(
        403, Errno.INVALID_AUTH_TOKEN, "You should be a registered user to perform this action."
    )


# Rooms (loop-api.md §4.12).


def not_room_owner() -> LoopError:
    return LoopError(403, Errno.UNDEFINED, "Authenticated user is not the owner of this room.")


def room_full() -> LoopError:
    return LoopError(400, Errno.ROOM_FULL, "The room is full.")


def client_reached_capacity() -> LoopError:
    return LoopError(
        400,
        Errno.CLIENT_REACHED_CAPACITY,
        "Too many participants in the room for you to handle.",
    )


def participation_expired() -> LoopError:
    return LoopError(410, Errno.EXPIRED, "Participation has expired.")


def not_room_participant(error: str) -> LoopError:
    return LoopError(400, Errno.NOT_ROOM_PARTICIPANT, error)


def invalid_participant_token() -> LoopError:
    text = "Invalid token; it may have expired."
    return unauthorized(f'Basic error="{text}"', text)


# Call URLs and calls (loop-api.md §4.10-§4.11, decisions D12).


def call_url_not_owned() -> LoopError:
    """``PUT /call-url/{token}`` on a token outside the caller's own list."""
    return LoopError(404, Errno.INVALID_TOKEN, "Not Found.")


def forbidden() -> LoopError:
    return LoopError(403, Errno.INVALID_AUTH_TOKEN, "Forbidden")


def too_many_requests(retry_after: int) -> LoopError:
    """A rate limit (D12, D32): ``Retry-After`` is when the window that refused frees."""
    return LoopError(
        429,
        Errno.TOO_MANY_REQUESTS,
        "Too many requests; retry later.",
        headers={"Retry-After": str(retry_after)},
    )


def too_many_rooms() -> LoopError:
    """The cap on live rooms per user (D32): waiting does not help, deleting one does."""
    return LoopError(403, Errno.UNDEFINED, "Too many rooms; delete one to create another.")


def user_unavailable() -> LoopError:
    return LoopError(400, Errno.USER_UNAVAILABLE, "Could not find any existing user to call")
