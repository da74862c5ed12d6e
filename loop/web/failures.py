"""The one error-handler registry, shared by the Loop server and the MSISDN gateway.

Every decision "which answer does this exception get" is made here: an error the spec
names (:class:`~loop.errors.LoopError`, the gateway's
:class:`~loop.msisdn.errors.GatewayError`) is sent as it is; a failing backend (storage,
media provider) is 503 with ``Retry-After``; anything else is 500 errno 999 with no
internal detail. The app factories register :func:`exception_handlers`; the middleware,
the last line of defence for what escapes them, asks :func:`last_resort`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from loop import errors
from loop.logging import failure_fields
from loop.media import MediaError
from loop.msisdn.errors import GatewayError
from loop.storage import BackendError, SessionCheckFailed

logger = logging.getLogger("loop")
request_logger = logging.getLogger("loop.request")

ERRNO_KEY = "loop.errno"
"""Scope key where the error writer leaves the errno, for the summary log line."""

STALE_SESSION_KEY = "loop.stale_session"
"""Scope key set when a remembered session turned out bound to another user since: the
middleware then serves the request once more rather than send the refusal."""

SERVER_AUTHORIZATION_KEY = "loop.server_authorization"
"""Scope key where Hawk verification leaves the ``Server-Authorization`` value to send."""

BACKEND_FAILURES: tuple[type[Exception], ...] = (BackendError, MediaError)
"""What a failing backend raises: answered 503, never 500."""

Handler = Callable[[Request, Any], Awaitable[Response]]


def is_backend_failure(exc: BaseException) -> bool:
    return isinstance(exc, BACKEND_FAILURES)


def last_resort(exc: Exception, retry_after: int) -> errors.LoopError:
    """The answer for an exception no handler took: 503 for a backend, else 500; logged
    (the formatter adds the request id, and writes the traceback without any exception's
    message: one can quote what it was handed, such as an answer's body), never sent."""
    if is_backend_failure(exc):
        request_logger.critical("backend failure", extra=failure_fields(exc))
        return errors.service_unavailable(retry_after)
    request_logger.error("unexpected error", exc_info=exc)
    return errors.internal_error()


async def answer(request: Request, error: Any) -> Response:
    """Send ``error`` (an :class:`~loop.errors.ErrorAnswer`), leaving its errno for the
    summary log line."""
    request.scope[ERRNO_KEY] = int(error.errno)
    return errors.error_response(error)


def session_check_answer(failure: SessionCheckFailed) -> errors.LoopError:
    """A Hawk request whose session check failed after its MAC verified with a
    remembered key (:mod:`loop.storage.checks`): the answers a separate lookup gives."""
    return errors.hawk_failure(
        errors.INVALID_NONCE if failure.replayed else errors.UNKNOWN_CREDENTIALS
    )


async def refuse_session(request: Request, failure: SessionCheckFailed) -> Response:
    """No ``Server-Authorization`` on the refusal: the session is not vouched for."""
    request.scope.pop(SERVER_AUTHORIZATION_KEY, None)
    if failure.stale:
        request.scope[STALE_SESSION_KEY] = True
    return await answer(request, session_check_answer(failure))


def exception_handlers(
    *,
    retry_after: int,
    unavailable: Callable[[int], errors.ErrorAnswer],
    http_error: Handler,
    catch_all: bool = False,
) -> dict[Any, Handler]:
    """Starlette exception handlers. ``unavailable`` builds the service's own 503;
    ``http_error`` answers Starlette's 404/405; ``catch_all`` also answers unexpected
    exceptions here (an app without the middleware, such as the mounted gateway)."""

    async def backend_failure(request: Request, exc: Any) -> Response:
        logger.critical("backend failure", extra=failure_fields(exc))
        return await answer(request, unavailable(retry_after))

    async def unexpected(request: Request, exc: Any) -> Response:
        return await answer(request, last_resort(exc, retry_after))

    handlers: dict[Any, Handler] = {
        errors.LoopError: answer,
        SessionCheckFailed: refuse_session,
        GatewayError: answer,
        HTTPException: http_error,
    }
    handlers.update({failure: backend_failure for failure in BACKEND_FAILURES})
    if catch_all:
        handlers[Exception] = unexpected
    return handlers
