"""``DELETE /account`` and the FxA OAuth login ``/fxa-oauth/*`` (loop-api.md §3.8-§3.9,
§4.8-§4.9, decisions D13)."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from loop import auth, identity
from loop.identity import oauth
from loop.services import services
from loop.web.clients import request_client
from loop.web.requests import json_body, json_response, no_content, require_params


async def delete_account(request: Request) -> Response:
    """Forget everything of the caller's user, on every device (D13); 204 even when
    there was nothing. A guest's "account" is its own device."""
    caller = await auth.require_hawk(request)
    await identity.delete_account(services(request), caller.session)
    return no_content()


async def oauth_params(request: Request) -> Response:
    """What the client needs to start the FxA login, with this session's state."""
    _require_activated(request)
    caller, token = await auth.oauth_session_or_create(request, address=request_client(request))
    config = services(request).settings.fxa_oauth
    body = {
        "client_id": config.client_id,
        "redirect_uri": config.redirect_uri,
        "profile_uri": config.profile_uri,
        "content_uri": config.content_uri,
        "oauth_uri": config.oauth_uri,
        "scope": config.scope,
        "state": caller.record.state,
    }
    return json_response(body, headers=auth.session_token_headers(token))


async def get_oauth_token(request: Request) -> Response:
    """The session's access token, when it has one."""
    _require_activated(request)
    caller = await auth.require_oauth_session(request)
    token = caller.record.token
    return json_response({} if token is None else {"access_token": token})


async def post_oauth_token(request: Request) -> Response:
    """Trade the code the client got from FxA, and sign the session in (§3.8 step 3)."""
    _require_activated(request)
    caller = await auth.require_oauth_session(request)
    body = await json_body(request)
    require_params(request, body, "state", "code")
    svc = services(request)
    await oauth.check_state(svc, caller, body["state"])
    grant, email = await oauth.redeem(svc, caller, body["code"])
    await identity.bind(svc, caller.caller.session, caller.caller.hawk_id, email)
    return json_response(grant.body())


def _require_activated(request: Request) -> None:
    """Without ``fxa_oauth.activated`` these routes do not exist: answered as any
    unknown route."""
    if not services(request).settings.fxa_oauth.activated:
        raise HTTPException(404)


routes: list[BaseRoute] = [
    Route("/account", delete_account, methods=["DELETE"]),
    Route("/fxa-oauth/params", oauth_params, methods=["POST"]),
    Route("/fxa-oauth/token", get_oauth_token, methods=["GET"]),
    Route("/fxa-oauth/token", post_oauth_token, methods=["POST"]),
]
