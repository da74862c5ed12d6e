"""The SMS-MO callbacks (msisdn-and-auth.md §1.5 ``/sms/momt/``): always 200 once the
provider is known, a long code sent back to the sender when the session is live."""

from __future__ import annotations

from tests.msisdn.conftest import Env
from tests.support.client import assert_error

SENDER = "33623456789"


async def test_unknown_provider(env: Env) -> None:
    response = await env.client.get("/sms/momt/?provider=twilio")
    assert_error(response, 400, 107, "Provider should be one of: nexmo, beepsend")
    assert_error(await env.client.get("/sms/momt/"), 400, 107)


async def test_nexmo_flow(env: Env) -> None:
    session = await env.register()
    text = f"/sms/momt/verify {session.id}"
    params = {"provider": "nexmo", "msisdn": SENDER, "text": text, "network-code": "20801"}
    response = await env.client.http.get("/sms/momt/", params=params)
    assert (response.status_code, response.json()) == (200, {})
    sms = env.sms.last_to("+" + SENDER)
    assert len(sms.text) == 32
    verified = await env.client.post("/sms/verify_code", json={"code": sms.text}, hawk=session)
    assert verified.json() == {"msisdn": "+" + SENDER}


async def test_beepsend_post_flow(env: Env) -> None:
    session = await env.register()
    body = {"from": SENDER, "message": f"tag {session.id}", "mccmnc": {"mcc": "208", "mnc": "01"}}
    response = await env.client.post("/sms/momt/?provider=beepsend", json=body)
    assert (response.status_code, response.json()) == (200, {})
    assert len(env.sms.last_to("+" + SENDER).text) == 32


async def test_ignored_messages_answer_200(env: Env) -> None:
    session = await env.register()
    cases = [
        {"provider": "nexmo"},  # setup ping: no sender
        {"provider": "nexmo", "msisdn": SENDER, "text": "only-one-word"},
        {"provider": "nexmo", "msisdn": SENDER, "text": "tag " + "ab" * 32},  # no session
        {"provider": "nexmo", "msisdn": SENDER, "text": "tag not-hex"},
    ]
    for params in cases:
        response = await env.client.http.get("/sms/momt/", params=params)
        assert (response.status_code, response.json()) == (200, {}), params
    await env.send_code(session, "+33698765432")
    env.sms.messages.clear()
    params = {"provider": "nexmo", "msisdn": SENDER, "text": f"tag {session.id}"}
    response = await env.client.http.get("/sms/momt/", params=params)
    assert (response.status_code, response.json()) == (200, {})
    assert env.sms.messages == []
