"""``/registration`` and ``/session``: sessions and push targets (loop-api.md §3.9, §4.6-4.8)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from loop import auth, errors, sessions
from loop.services import services
from loop.web.clients import request_client
from loop.web.requests import check_accept, empty_json, json_body, no_content


async def register(request: Request) -> Response:
    """Create (no header) or authenticate a session, then merge the push targets sent."""
    if auth.creates_session(request):
        return await _register_new_session(request)
    caller, token = await auth.hawk_or_create(request, address=request_client(request))
    created = auth.session_token_headers(token)
    try:
        check_accept(request)
        targets = sessions.push_targets(await json_body(request), request.query_params)
    except errors.LoopError as exc:
        exc.headers.update(created)  # the session exists: the client must learn its token
        raise
    if targets:
        await sessions.register_push(services(request), caller.session, targets)
    return empty_json(headers=created)


async def _register_new_session(request: Request) -> Response:
    """A new session and its push targets in one storage call (issue 13: the start-up of
    every client). The request is read before the session is created, but answered as on
    the other paths: the session is created (or refused, 429, storing nothing) before a
    bad ``Accept`` or body is answered, and that error carries the new session's token."""
    svc, address = services(request), request_client(request)
    try:
        check_accept(request)
        targets = sessions.push_targets(await json_body(request), request.query_params)
    except errors.LoopError as invalid:
        token, _, _ = await sessions.create_session(svc, address=address)
        invalid.headers.update(auth.session_token_headers(token))
        raise
    token, _, _ = await sessions.create_session(svc, address=address, push=targets or None)
    return empty_json(headers=auth.session_token_headers(token))


async def unregister(request: Request) -> Response:
    """Forget this device's push targets; body and query are ignored (§4.7)."""
    caller = await auth.require_hawk(request)
    await sessions.unregister_push(services(request).storage, caller.session)
    return no_content()


async def delete_session(request: Request) -> Response:
    """Log out: forget this device's session and push targets (§3.9)."""
    caller = await auth.require_registered(request)
    await sessions.log_out(services(request).storage, caller.session)
    return no_content()


routes: list[BaseRoute] = [
    Route("/registration", register, methods=["POST"]),
    Route("/registration", unregister, methods=["DELETE"]),
    Route("/session", delete_session, methods=["DELETE"]),
]
