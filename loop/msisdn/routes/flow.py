"""The verification flow: SMS-MT, SMS-MO callbacks, code check, certificate signing and
unregistration (msisdn-and-auth.md §1.5-§1.6, decisions D21-D23)."""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from loop import browserid, jsonutil
from loop.msisdn import errors, numbers, verification
from loop.msisdn.auth import Caller, hawk_id_hmac, require_hawk
from loop.msisdn.routes.common import host, params
from loop.msisdn.services import Gateway, gateway
from loop.msisdn.sms import SmsError, inbound
from loop.msisdn.storage import BindOutcome, CodeOutcome
from loop.web.requests import json_body, json_response, no_content

logger = logging.getLogger("loop.msisdn.flow")
Errno = errors.GatewayErrno


async def unregister(request: Request) -> Response:
    services = gateway(request)
    caller = await require_hawk(request, services)
    await services.storage.unregister(caller.hawk_id_hmac)
    return no_content()


async def mt_verify(request: Request) -> Response:
    """Send a code by SMS to the number the client claims (§1.5 ``/sms/mt/verify``)."""
    services = gateway(request)
    caller = await require_hawk(request, services)
    body = await params(request, "msisdn", "mcc")
    msisdn = numbers.normalize(body["msisdn"])
    if msisdn is None:
        raise errors.invalid_msisdn()
    mnc = body.get("mnc")
    if mnc is not None and not (isinstance(mnc, str) and len(mnc) in (2, 3)):
        raise errors.invalid("Invalid MNC.")
    mcc = body["mcc"]
    if not isinstance(mcc, str) or len(mcc) != 3:
        raise errors.invalid("Invalid MCC.")
    settings = services.settings
    short = body.get("shortVerificationCode") is True
    await _limit_sms(services, caller, msisdn, short=short)
    if short:
        code = verification.short_code(settings.short_code_length)
        lang = request.headers.get("accept-language")
        text = verification.short_code_text(code, lang, settings.i18n.default_lang)
    else:
        code = text = verification.long_code(settings.long_code_bytes)
    outcome = await _bind(services, caller.hawk_id, caller.hawk_id_hmac, msisdn, code, False)
    if outcome is BindOutcome.OTHER_NUMBER:
        raise errors.invalid("You can validate only one MSISDN per session.")
    await _send(services, numbers.mt_sender(settings.sms_mapping, mcc, mnc), msisdn, text)
    return no_content()


async def mo_callback(request: Request) -> Response:
    """An SMS the device sent to ``moVerifier``, relayed by the provider (§1.5). Always 200
    once the provider is known: providers retry on anything else."""
    services = gateway(request)
    provider = request.query_params.get("provider")
    if provider not in inbound.PROVIDERS:
        raise errors.invalid("Provider should be one of: " + ", ".join(inbound.PROVIDERS))
    values: Any = request.query_params if request.method == "GET" else await json_body(request)
    message = inbound.parse(provider, values)
    words = message.text.split() if message else []
    if message is None or len(words) < 2 or not verification.is_hawk_id(words[1]):
        return json_response({})
    hawk_id = words[1]
    filed_as = hawk_id_hmac(services.settings, hawk_id)
    if not await _mo_allowed(services, message.msisdn):
        return json_response({})
    code = verification.long_code(services.settings.long_code_bytes)
    outcome = await _bind(services, hawk_id, filed_as, message.msisdn, code, True)
    if outcome is not BindOutcome.BOUND:
        logger.info("msisdn.momt.ignored", extra={"reason": outcome.value})
        return json_response({})
    sender = numbers.mt_sender(services.settings.sms_mapping, message.mcc, message.mnc)
    await _send(services, sender, message.msisdn, code)
    return json_response({})


async def verify_code(request: Request) -> Response:
    """Check the code; on success the number is verified for this session (§1.5)."""
    services = gateway(request)
    caller = await require_hawk(request, services)
    body = await params(request, "code")
    settings = services.settings
    short, long = settings.short_code_length, settings.long_code_bytes * 2
    code = body["code"]
    if not isinstance(code, str) or len(code) not in (short, long):
        raise errors.invalid(
            f"Code should be short ({short} characters) or long ({long} characters)."
        )
    limits = settings.rate_limits
    await verification.enforce(
        services.storage,
        bucket=f"verify:{caller.hawk_id_hmac}",
        limit=limits.verify_code_per_session,
        period=limits.period,
        now=services.clock.now(),
        errno=Errno.TOO_MANY_FOR_METHOD,
    )
    result = await services.storage.check_code(
        caller.hawk_id_hmac,
        code_mac=verification.code_mac(settings, code),
        hawk_key=caller.hawk_key,
        now=services.clock.now(),
        max_tries=settings.nb_code_tries,
    )
    if result.outcome is CodeOutcome.NO_CODE:
        raise errors.expired("Code has expired.")
    if result.outcome is CodeOutcome.WRONG:
        raise errors.GatewayError(400, Errno.INVALID_CODE, "Code error.")
    if result.outcome is CodeOutcome.NO_MSISDN or result.cipher_msisdn is None:
        raise errors.expired("Token has expired.")
    return json_response({"msisdn": _unseal(services, caller, result.cipher_msisdn)})


async def sign_certificate(request: Request) -> Response:
    """A BrowserID certificate for the client's key and verified number (§1.5, §2.2)."""
    services = gateway(request)
    caller = await require_hawk(request, services)
    body = await params(request, "publicKey", "duration")
    public_key = _public_key(body["publicKey"])
    duration = _duration(body["duration"], services.settings.browserid.max_duration)
    now = services.clock.now()
    record = await services.storage.use_certificate(caller.hawk_id_hmac, now=now)
    if record is None:
        raise errors.expired("Validation has expired.")
    msisdn = _unseal(services, caller, record.cipher_msisdn)
    issuer = services.settings.browserid.issuer or host(request)
    cert = browserid.issue_certificate(
        services.signing_key,
        issuer=issuer,
        public_key=public_key,
        principal={"email": browserid.msisdn_principal_email(msisdn, issuer)},
        duration=duration,
        now=now,
        claims={
            "verifiedMSISDN": msisdn,
            "lastVerifiedAt": record.created_at,
            "lastAuthAt": record.last_updated_at,
        },
    )
    return json_response({"cert": cert})


def _public_key(value: Any) -> browserid.PublicKey:
    """A key object, or its JSON text (D23): unparsable text 406/106, any unusable key
    400/107 ``Bad Public Key.`` (details withheld, as the original)."""
    if isinstance(value, str):
        try:
            value = jsonutil.loads(value)
        except ValueError:
            raise errors.bad_json("publicKey is not valid JSON.") from None
    try:
        return browserid.public_key_from_json(value)
    except browserid.KeyFormatError:
        raise errors.invalid("Bad Public Key.") from None


def _duration(value: Any, cap: int) -> int:
    """Whole seconds ≥ 1 (a decimal string is accepted, junk is not), capped if set."""
    if isinstance(value, str) and value.strip().isdecimal() and len(value) < 16:
        value = int(value)
    if not isinstance(value, int | float) or isinstance(value, bool) or not 1 <= value < 1e12:
        raise errors.invalid("Duration should be a number of seconds.")
    return min(int(value), cap) if cap > 0 else int(value)


def _unseal(services: Gateway, caller: Caller, sealed: str) -> str:
    msisdn = verification.unseal(services.settings, caller.hawk_id, sealed)
    if msisdn is None:
        raise errors.GatewayError(411, Errno.EXPIRED, "Unable to decrypt stored MSISDN")
    return msisdn


async def _bind(
    services: Gateway, hawk_id: str, filed_as: str, msisdn: str, code: str, mo: bool
) -> BindOutcome:
    settings = services.settings
    return await services.storage.bind(
        filed_as,
        msisdn_mac=verification.msisdn_mac(settings, msisdn),
        cipher_msisdn=verification.seal(settings, hawk_id, msisdn),
        code_mac=verification.code_mac(settings, code),
        now=services.clock.now(),
        ttl=settings.code_ttl,
        require_session=mo,
    )


async def _limit_sms(services: Gateway, caller: Caller, msisdn: str, *, short: bool) -> None:
    """errno 114 (short codes per session), then 115 (SMS per number)."""
    limits, now = services.settings.rate_limits, services.clock.now()
    if short:
        await verification.enforce(
            services.storage,
            bucket=f"short:{caller.hawk_id_hmac}",
            limit=limits.short_code_per_session,
            period=limits.period,
            now=now,
            errno=Errno.TOO_MANY_SHORT_CODES,
        )
    await verification.enforce(
        services.storage,
        bucket="msisdn:" + verification.msisdn_mac(services.settings, msisdn),
        limit=limits.sms_per_msisdn,
        period=limits.period,
        now=now,
        errno=Errno.TOO_MANY_FOR_MSISDN,
    )


async def _mo_allowed(services: Gateway, msisdn: str) -> bool:
    """The per-number SMS limit, applied silently to MO callbacks (no 429 to providers)."""
    try:
        await verification.enforce(
            services.storage,
            bucket="msisdn:" + verification.msisdn_mac(services.settings, msisdn),
            limit=services.settings.rate_limits.sms_per_msisdn,
            period=services.settings.rate_limits.period,
            now=services.clock.now(),
            errno=Errno.TOO_MANY_FOR_MSISDN,
        )
    except errors.GatewayError:
        logger.info("msisdn.momt.ignored", extra={"reason": "rate_limited"})
        return False
    return True


async def _send(services: Gateway, sender: str, to: str, text: str) -> None:
    try:
        await services.sms.send(sender=sender, to=to, text=text)
    except SmsError as exc:
        raise errors.service_unavailable(services.settings.retry_after, str(exc)) from None


routes: list[BaseRoute] = [
    Route("/unregister", unregister, methods=["POST"]),
    Route("/sms/mt/verify", mt_verify, methods=["POST"]),
    Route("/sms/momt/", mo_callback, methods=["GET", "POST"]),
    Route("/sms/momt", mo_callback, methods=["GET", "POST"]),
    Route("/sms/verify_code", verify_code, methods=["POST"]),
    Route("/certificate/sign", sign_certificate, methods=["POST"]),
]
