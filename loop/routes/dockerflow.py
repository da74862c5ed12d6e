"""Service information, health checks and small public endpoints (loop-api.md §4.1-§4.5,
§4.13; decisions D14, D17, D19)."""

from __future__ import annotations

import asyncio
import functools
import importlib.metadata
import json
import logging
import math
import random
import subprocess
from collections.abc import Awaitable, Mapping
from pathlib import Path
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from loop import auth, errors
from loop.config import Settings
from loop.identity import remote as remote_verifier
from loop.services import Services, services
from loop.web.requests import json_body, json_response, no_content, require_params

logger = logging.getLogger("loop.dockerflow")

NAME = "mozilla-loop-server"
PACKAGE = "loop-server"
HOMEPAGE = "https://github.com/mozilla-services/loop-server/"
GA_NOT_CONFIGURED = "Google Analytics events are not configured for this server."


@functools.cache
def version_info() -> dict[str, str]:
    """Dockerflow's ``{source, version, commit, build}``: from a ``version.json`` next to the
    package or in the working directory (written at build time), else from the installed
    package and ``git``. Read once per process."""
    for folder in (Path(__file__).resolve().parents[2], Path.cwd()):
        try:
            data = json.loads((folder / "version.json").read_text("utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            return {
                key: str(data.get(key, "")) for key in ("source", "version", "commit", "build")
            }
    return {
        "source": HOMEPAGE,
        "version": _package_version(),
        "commit": _git("rev-parse", "HEAD"),
        "build": "",
    }


@functools.cache
def git_branch() -> str:
    return _git("rev-parse", "--abbrev-ref", "HEAD")


def _package_version() -> str:
    try:
        return importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return "0.0.0"


def _git(*args: str) -> str:
    """Best effort: empty when not a git checkout or git is missing."""
    try:
        result = subprocess.run(
            ["git", *args],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=2,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return result.stdout.strip()


async def root(request: Request) -> Response:
    """Service description (§4.1); ``endpoint`` is the origin the client used."""
    settings = services(request).settings
    body: dict[str, Any] = {"name": NAME, "description": _description()}
    if settings.display_version:
        body["version"] = version_info()["version"]
    host = request.headers.get("host") or settings.public_server_address
    body |= {
        "homepage": HOMEPAGE,
        "endpoint": f"{settings.protocol}://{host}",
        "fakeTokBox": settings.media.provider == "fake",
        "fxaOAuth": settings.fxa_oauth.activated,
        "i18n": _i18n(request, settings),
    }
    if version_info()["commit"]:
        body["rev"] = version_info()["commit"]
    if git_branch():
        body["branch"] = git_branch()
    return json_response(body)


@functools.cache
def _description() -> str:
    try:
        return importlib.metadata.metadata(PACKAGE)["Summary"] or NAME
    except importlib.metadata.PackageNotFoundError:
        return NAME


def _i18n(request: Request, settings: Settings) -> dict[str, str]:
    i18n = {"defaultLang": settings.i18n.default_lang}
    accept_language = request.headers.get("accept-language")
    if accept_language is not None:
        i18n["lang"] = accept_language.split(",", 1)[0].strip()
    return i18n


async def heartbeat(request: Request) -> Response:
    """Every backend checked concurrently, each under ``heartbeat_timeout`` (§4.2, D19)."""
    svc = services(request)
    timeout = svc.settings.heartbeat_timeout / 1000
    storage_ok, provider, push_ok, verifier_ok = await asyncio.gather(
        _within(svc.storage.ping(now=svc.clock.now()), timeout, False),
        _within(svc.media.ping(), timeout, "Error: no answer within the heartbeat timeout"),
        _within(svc.push.ping(), timeout, False),
        _within(remote_verifier.ping(svc), timeout, False),
    )
    body: dict[str, Any] = {
        "storage": storage_ok is True,
        "provider": provider is None,
        "push": push_ok is True,
        "fxaVerifier": verifier_ok is True,
    }
    if provider is not None:
        body["message"] = f"{svc.media.label} {provider}"
    healthy = all(body[key] for key in ("storage", "provider", "push", "fxaVerifier"))
    return json_response(body, 200 if healthy else 503)


async def _within(check: Awaitable[Any], timeout: float, failure: Any) -> Any:
    """The check's answer, or ``failure`` when it raises or overruns."""
    try:
        return await asyncio.wait_for(check, timeout)
    except Exception as exc:  # a health check never fails the heartbeat itself
        logger.warning("heartbeat check failed: %r", exc)
        return failure


async def lbheartbeat(request: Request) -> Response:
    return json_response({})


async def version(request: Request) -> Response:
    return json_response(version_info())


async def api_specs(request: Request) -> Response:
    """A Videur profile of the API (§4.4) as valid JSON with the real location (D14)."""
    return json_response(videur_profile(services(request).settings))


def videur_profile(settings: Settings) -> dict[str, Any]:
    room = f"regexp:/rooms/{_token_regex(settings.rooms.token_size)}"
    call = f"regexp:/calls/{_token_regex(settings.call_urls.token_size)}"
    rate = {
        "seconds": settings.call_urls.rate_limit_period,
        "hits": settings.call_urls.rate_limit,
        "match": "header:Authorization AND header:User-Agent",
    }
    resources: dict[str, dict[str, Any]] = {
        "/__heartbeat__": {"GET": {}},
        "/": {"GET": {}},
        "/account": {"DELETE": {}},
        "/call-url": {"GET": {}, "POST": {"limits": {"rates": [rate]}}, "PUT": {}, "DELETE": {}},
        "/calls": {"GET": {}, "POST": {}},
        call: {"POST": {}},
        "/fxa-oauth/params": {"POST": {}},
        "/fxa-oauth/token": {"POST": {}, "GET": {}},
        "/push-server-config": {"GET": {}},
        "/registration": {"POST": {}, "DELETE": {}},
        "/rooms": {"POST": {}, "PATCH": {}, "DELETE": {}, "GET": {}},
        room: {"PATCH": {}, "DELETE": {}, "GET": {}, "POST": {}},
    }
    return {
        "service": {
            "location": settings.server_origin,
            "version": version_info()["version"],
            "videur_version": "0.1",
            "resources": resources,
        }
    }


def _token_regex(token_bytes: int) -> str:
    """Tokens are ``token_bytes`` random bytes in unpadded base64url."""
    return f"[a-zA-Z0-9_-]{{{math.ceil(token_bytes * 4 / 3)}}}"


async def push_server_config(request: Request) -> Response:
    return json_response(push_config(services(request)))


def push_config(svc: Services) -> dict[str, Any]:
    """The push server a client should use, and (Web Push, D17) our VAPID public key."""
    uris = svc.settings.push_server_uris
    config: dict[str, Any] = {"pushServerURI": random.choice(uris) if uris else None}
    vapid_public_key = getattr(svc.push, "vapid_public_key", None)  # set by Web Push support
    if vapid_public_key:
        config["vapidPublicKey"] = vapid_public_key
    return config


async def event(request: Request) -> Response:
    """Analytics (§4.13): parameters are checked before authentication, as the original."""
    body = await json_body(request)
    require_params(request, body, "event", "action", "label")
    caller = await auth.require_hawk(request)
    if not services(request).settings.ga.activated:
        raise errors.LoopError(405, errors.Errno.UNDEFINED, GA_NOT_CONFIGURED)
    svc = services(request)
    svc.spawn(_send_analytics(svc, caller.session.user, body))
    return no_content()


async def _send_analytics(svc: Services, client_id: str, body: Mapping[str, Any]) -> None:
    """One Measurement Protocol event hit (category = ``event``), as the original's
    ``universal-analytics`` client sent it; fire-and-forget, so analytics never fails or
    slows the request. The client id is the user key, already a keyed hash."""
    ga = svc.settings.ga
    hit = {
        "v": "1",
        "tid": ga.id,
        "cid": client_id,
        "t": "event",
        "ec": str(body["event"])[:150],
        "ea": str(body["action"])[:500],
        "el": str(body["label"])[:500],
    }
    try:
        response = await svc.http.post(ga.url, data=hit)
    except httpx.HTTPError as exc:
        logger.warning("analytics.failed", extra={"error": type(exc).__name__})
        return
    if response.status_code >= 400:
        logger.warning("analytics.failed", extra={"status": response.status_code})


routes: list[BaseRoute] = [
    Route("/", root, methods=["GET"]),
    Route("/__heartbeat__", heartbeat, methods=["GET"]),
    Route("/__lbheartbeat__", lbheartbeat, methods=["GET"]),
    Route("/__version__", version, methods=["GET"]),
    Route("/api-specs", api_specs, methods=["GET"]),
    Route("/push-server-config", push_server_config, methods=["GET"]),
    Route("/event", event, methods=["POST"]),
]

version_info()  # at start-up (routes are imported by create_app), never per request
