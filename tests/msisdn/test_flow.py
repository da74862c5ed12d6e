"""The whole SMS-MT flow, end to end, with a real HTTP SMS provider and real signatures."""

from __future__ import annotations

from loop import browserid
from tests.msisdn.conftest import HOST, MSISDN, Env

AUDIENCE = "https://loop.example.com"


async def test_register_verify_sign_and_verify_locally(env: Env) -> None:
    session = await env.register()
    response = await env.client.post(
        "/sms/mt/verify", json={"msisdn": MSISDN, "mcc": "208"}, hawk=session
    )
    assert response.status_code == 204
    sms = env.sms.last_to(MSISDN)
    assert (sms.sender, len(sms.text)) == ("Mozilla@", 32)
    response = await env.client.post("/sms/verify_code", json={"code": sms.text}, hawk=session)
    assert response.json() == {"msisdn": MSISDN}
    assert "Server-Authorization" in response.headers

    user_key = browserid.generate("DS128")
    response = await env.client.post(
        "/certificate/sign",
        json={"publicKey": user_key.public.to_json(), "duration": 3600},
        hawk=session,
    )
    assert response.status_code == 200, response.text
    cert = response.json()["cert"]
    assertion = browserid.sign_assertion(user_key, audience=AUDIENCE, now=env.clock.now())

    document = (await env.client.get("/.well-known/browserid")).json()
    keys = browserid.support_document_keys(document)
    result = browserid.verify(
        browserid.bundle([cert], assertion),
        audience=AUDIENCE,
        trusted_keys={HOST: keys},
        now=env.clock.now(),
    )
    assert result.idp_claims["verifiedMSISDN"] == MSISDN
    assert result.email == browserid.msisdn_principal_email(MSISDN, HOST)
    assert result.issuer == HOST
    assert result.idp_claims["lastAuthAt"] >= result.idp_claims["lastVerifiedAt"]
