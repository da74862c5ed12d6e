"""``/call-url`` and ``/calls`` (loop-api.md §4.10-§4.11; decisions D8, D12, D30).

Bodies are parsed first, as the original's app-wide body parser did; then each handler
keeps the spec's order: authentication, parameter checker, validation, storage.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from loop import auth, errors
from loop.calls import call_urls, calls
from loop.services import services
from loop.web.clients import request_client
from loop.web.requests import (
    json_body,
    json_response,
    no_content,
    require_params,
)

# -- /call-url ------------------------------------------------------------------------------


async def list_call_urls(request: Request) -> Response:
    caller = await auth.require_hawk(request)
    return json_response(await call_urls.listing(services(request), caller))


async def create_call_url(request: Request) -> Response:
    """Revived click-to-call links (D12); ``/call-url/`` is the same route (D30)."""
    body = await json_body(request)
    caller = await auth.require_hawk(request)
    require_params(request, body, "callerId")
    svc = services(request)
    url = await call_urls.create(svc, caller, body)
    return json_response(call_urls.creation_view(svc, url))


async def update_call_url(request: Request) -> Response:
    body = await json_body(request)
    caller = await auth.require_hawk(request)
    url = await call_urls.update(services(request), caller, _token(request), body)
    return json_response({"expiresAt": url.expires})


async def delete_call_url(request: Request) -> Response:
    caller = await auth.require_hawk(request)
    await call_urls.delete(services(request), caller, _token(request))
    return no_content()


# -- /calls ----------------------------------------------------------------------------------


async def start_direct_call(request: Request) -> Response:
    body = await json_body(request)
    caller = await auth.require_registered(request)
    require_params(request, body, "calleeId")
    require_params(request, body, "callType")
    svc = services(request)
    started = await calls.start_direct(svc, caller, body, address=request_client(request))
    return json_response(calls.caller_view(svc.settings, started))


async def list_calls(request: Request) -> Response:
    caller = await auth.require_hawk(request)
    raw = request.query_params.get("version")
    if raw is None:
        raise errors.missing_parameters(["version"])
    found = await calls.listing(services(request), caller, calls.version(raw))
    return json_response({"calls": found})


async def call_url_info(request: Request) -> Response:
    """What a link clicker's page shows before calling (no authentication)."""
    url = await call_urls.live(services(request), _token(request))
    return json_response({"calleeFriendlyName": url.issuer, "urlCreationDate": url.timestamp})


async def start_link_call(request: Request) -> Response:
    body = await json_body(request)
    svc = services(request)
    url = await call_urls.live(svc, _token(request))
    require_params(request, body, "callType")
    started = await calls.start_from_link(svc, url, body, address=request_client(request))
    return json_response(calls.caller_view(svc.settings, started))


def _token(request: Request) -> str:
    token: str = request.path_params["token"]
    return token


routes: list[BaseRoute] = [
    Route("/call-url", list_call_urls, methods=["GET"]),
    Route("/call-url", create_call_url, methods=["POST"]),
    Route("/call-url/", create_call_url, methods=["POST"]),
    Route("/call-url/{token}", update_call_url, methods=["PUT"]),
    Route("/call-url/{token}", delete_call_url, methods=["DELETE"]),
    Route("/calls", list_calls, methods=["GET"]),
    Route("/calls", start_direct_call, methods=["POST"]),
    Route("/calls/{token}", call_url_info, methods=["GET"]),
    Route("/calls/{token}", start_link_call, methods=["POST"]),
]
