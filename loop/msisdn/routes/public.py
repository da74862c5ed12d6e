"""Unauthenticated gateway endpoints: service information, health, discovery,
registration and the BrowserID support document (msisdn-and-auth.md §1.5)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from loop import __version__
from loop.crypto import hawk_credentials, random_hex
from loop.msisdn import errors, numbers
from loop.msisdn.auth import hawk_id_hmac
from loop.msisdn.routes.common import base_url, limit_by_address, params
from loop.msisdn.services import gateway
from loop.web.requests import json_response

SESSION_TOKEN_BYTES = 32
WARNING_PATH = "/.well-known/browserid/warning.html"
WARNING_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>MSISDN verification</title></head>
<body><h1>This is not a login page</h1>
<p>This server certifies phone numbers verified by SMS for applications such as Firefox
Hello. It is not an identity provider you can sign in with from a web page.</p>
</body></html>
"""
RESOURCES: dict[str, dict[str, dict[str, str]]] = {
    "/__heartbeat__": {"GET": {}},
    "/": {"GET": {}},
    **{
        path: {"POST": {"max_body_size": "10k"}}
        for path in (
            "/discover",
            "/register",
            "/unregister",
            "/sms/mt/verify",
            "/sms/verify_code",
            "/certificate/sign",
        )
    },
    "/sms/momt/": {"GET": {}, "POST": {"max_body_size": "10k"}},
    "/.well-known/browserid": {"GET": {}},
    WARNING_PATH: {"GET": {}},
}


async def home(request: Request) -> Response:
    settings = gateway(request).settings
    info = {
        "name": "mozilla-msisdn-gateway",
        "description": "The Mozilla MSISDN Gateway",
        "version": __version__,
        "homepage": "https://github.com/mozilla-services/msisdn-gateway/",
        "endpoint": f"{settings.protocol}://{request.headers.get('host', '')}",
    }
    if not settings.display_version:
        del info["version"]
    return json_response(info)


async def heartbeat(request: Request) -> Response:
    services = gateway(request)
    alive = await services.storage.ping(now=services.clock.now())
    return json_response({"storage": alive}, 200 if alive else 503)


async def api_specs(request: Request) -> Response:
    services = gateway(request)
    service = {
        "location": f"{services.settings.protocol}://{request.headers.get('host', '')}",
        "version": __version__,
        "videur_version": "0.1",
        "resources": RESOURCES,
    }
    return json_response({"service": service})


async def discover(request: Request) -> Response:
    """Which verification methods suit this network (§1.5 ``/discover``)."""
    services = gateway(request)
    await limit_by_address(request, services)
    body = await params(request, "mcc")
    mcc = body["mcc"]
    if not isinstance(mcc, str) or len(mcc) != 3:
        raise errors.invalid("Invalid MCC.")
    mnc = numbers.usable_mnc(body.get("mnc"))
    mapping = services.settings.sms_mapping
    mt_sender = numbers.mt_sender(mapping, mcc, mnc)
    mo_verifier = numbers.mo_verifier(mapping, mcc, mnc)
    methods: list[str] = []
    details: dict[str, dict[str, str]] = {}
    if "msisdn" in body or mo_verifier is None:
        if numbers.normalize(body.get("msisdn")) is None and mo_verifier is not None:
            raise errors.invalid_msisdn()
        methods.append("sms/mt")
        url = base_url(request, services) + "/sms/mt/verify"
        details["sms/mt"] = {"mtSender": mt_sender, "url": url}
    if mo_verifier is not None:
        methods.append("sms/momt")
        details["sms/momt"] = {"mtSender": mt_sender, "moVerifier": mo_verifier}
    return json_response({"verificationMethods": methods, "verificationDetails": details})


async def register(request: Request) -> Response:
    """A new session; only the HMAC of its Hawk id and its Hawk key are stored (§1.4)."""
    services = gateway(request)
    await limit_by_address(request, services)
    token = random_hex(SESSION_TOKEN_BYTES)
    hawk_id, hawk_key = hawk_credentials(token)
    await services.storage.create_session(
        hawk_id_hmac(services.settings, hawk_id),
        hawk_key=hawk_key,
        now=services.clock.now(),
        ttl=services.settings.hawk_session_duration,
    )
    return json_response({"msisdnSessionToken": token})


async def support_document(request: Request) -> Response:
    public_key = gateway(request).signing_key.public.to_json()
    return json_response(
        {"public-key": public_key, "authentication": WARNING_PATH, "provisioning": WARNING_PATH}
    )


async def warning_page(request: Request) -> Response:
    return HTMLResponse(WARNING_PAGE)


routes: list[BaseRoute] = [
    Route("/", home, methods=["GET"]),
    Route("/__heartbeat__", heartbeat, methods=["GET"]),
    Route("/api-specs", api_specs, methods=["GET"]),
    Route("/discover", discover, methods=["POST"]),
    Route("/register", register, methods=["POST"]),
    Route("/.well-known/browserid", support_document, methods=["GET"]),
    Route(WARNING_PATH, warning_page, methods=["GET"]),
]
