"""What anyone writes, everyone can read back (issue 12, item 1), on both backends.

Hostile JSON goes through every writable field: values no storage can hold and read back
(lone surrogates, ``NaN``, numbers beyond a double or a signed 64-bit integer, deep
nesting) are refused by the one strict reader, 400 errno 106 (not JSON) or 107 (naming the
field); odd values that are valid (an astral character, NUL, the largest 64-bit integer)
are stored. Either way every reading endpoint then answers 200, with the value intact.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.routes.conftest import Harness
from tests.support.client import HawkSession
from tests.support.rooms import act, basic, create_room, joined, register_push

REFUSED: list[tuple[str, int, str]] = [
    ('"\\ud800"', 107, "should not hold a lone surrogate"),
    ('"a\\udfffb"', 107, "should not hold a lone surrogate"),
    ('"\\udc00\\ud800"', 107, "should not hold a lone surrogate"),
    ('["\\ud800"]', 107, "should not hold a lone surrogate"),
    ("1e400", 107, "should not hold a number beyond a double's range"),
    ("-1e400", 107, "should not hold a number beyond a double's range"),
    ("9223372036854775808", 107, "should not hold an integer beyond 64 bits"),
    ("-9223372036854775809", 107, "should not hold an integer beyond 64 bits"),
    ("NaN", 106, "Invalid JSON in request body."),
    ("Infinity", 106, "Invalid JSON in request body."),
    ("-Infinity", 106, "Invalid JSON in request body."),
    ("[" * 40 + "]" * 40, 106, "Invalid JSON in request body."),
    ("[" * 2000 + "]" * 2000, 106, "Invalid JSON in request body."),
]
"""(JSON literal, errno, the error's text or its end after the field's name)."""

KEPT = ['"\\ud83d\\ude00 \\u0000 é"', "9223372036854775807", '"x"']
"""Valid odd values: a surrogate pair (one astral character), NUL, the largest integer."""

CONTEXT = '{"value": @, "alg": "a", "wrappedKey": "k"}'
CONTEXT_KEYS = {"value": "v", "alg": "a", "wrappedKey": "k"}
ROOM_WRITES = [
    ("roomName", '{"roomName": @, "roomOwner": "o", "maxSize": 3}'),
    ("roomOwner", '{"roomOwner": @, "roomName": "n", "maxSize": 3}'),
    ("context.value", '{"roomOwner": "o", "maxSize": 3, "context": ' + CONTEXT + "}"),
    (
        "context.extra",
        '{"roomOwner": "o", "maxSize": 3, "context": {"value": "v", "alg": "a", '
        '"wrappedKey": "k", "extra": @}}',
    ),
    ("maxSize", '{"roomOwner": "o", "maxSize": @}'),
    ("expiresIn", '{"roomOwner": "o", "expiresIn": @}'),
]
"""(field, body) of ``POST /rooms`` and ``PATCH /rooms/{token}``; ``@`` is the value."""
ACTION_WRITES = [
    ("displayName", '{"action": "join", "displayName": @, "clientMaxSize": 5}'),
    ("clientMaxSize", '{"action": "join", "displayName": "g", "clientMaxSize": @}'),
    ("state", '{"action": "status", "event": "e", "state": @, "connections": 1, '
     '"sendStreams": 1, "recvStreams": 1}'),
    ("connections", '{"action": "status", "event": "e", "state": "s", "connections": @, '
     '"sendStreams": 1, "recvStreams": 1}'),
    ("domains.domain", '{"action": "logDomain", "domains": [{"domain": @, "count": 1}]}'),
]  # fmt: skip
CALL_URL_WRITES = [
    ("callerId", '{"callerId": @}'),
    ("issuer", '{"callerId": "c", "issuer": @}'),
    ("expiresIn", '{"callerId": "c", "expiresIn": @}'),
]
CALL_WRITES = [
    ("subject", '{"callType": "audio", "subject": @}'),
    ("channel", '{"callType": "audio", "channel": @}'),
    ("callType", '{"callType": @}'),
]
PUSH_WRITES = [
    ("simplePushURL", '{"simplePushURL": @}'),
    ("simplePushURLs.rooms", '{"simplePushURLs": {"rooms": @}}'),
]


class Scene:
    """An owner with a room (joined by a guest) and a call link, and every way to read them."""

    def __init__(self, harness: Harness, owner: HawkSession, room: str, media: str, link: str):
        self.harness = harness
        self.owner = owner
        self.room = room
        self.media = media
        self.link = link

    async def write(self, method: str, path: str, body: str, hawk: Any = None) -> Any:
        return await self.harness.client.request(
            method,
            path,
            content=body.encode(),
            headers={"Content-Type": "application/json"},
            hawk=hawk,
        )

    async def read_everything(self) -> list[Any]:
        """Every reading endpoint, each asserted 200; the answers' bodies."""
        client = self.harness.client
        answers = [
            await client.get("/rooms", hawk=self.owner),
            await client.get("/rooms?version=1", hawk=self.owner),
            await client.get(f"/rooms/{self.room}", hawk=self.owner),
            await client.get(f"/rooms/{self.room}"),
            await client.get(f"/rooms/{self.room}", headers=basic(self.media)),
            await client.get("/calls?version=0", hawk=self.owner),
            await client.get("/call-url", hawk=self.owner),
            await client.get(f"/calls/{self.link}"),
        ]
        for answer in answers:
            assert answer.status_code == 200, (answer.request.url, answer.text)
        return [answer.json() for answer in answers]


async def scene(harness: Harness) -> Scene:
    owner = await harness.client.register()
    await register_push(harness, owner, "https://push.example/rooms")
    room = (await create_room(harness, owner))["roomToken"]
    media = await joined(harness, room)
    link = await harness.client.post("/call-url", json={"callerId": "c"}, hawk=owner)
    assert link.status_code == 200, link.text
    return Scene(harness, owner, room, media, link.json()["callToken"])


def every_write(s: Scene) -> list[tuple[str, str, str, str, Any]]:
    """(field, method, path, body template, credentials) of every writable field."""
    guest = basic(s.media)
    writes: list[tuple[str, str, str, str, Any]] = []
    for field, body in ROOM_WRITES:
        writes.append((field, "POST", "/rooms", body, s.owner))
        writes.append((field, "PATCH", f"/rooms/{s.room}", body, s.owner))
    for field, body in ACTION_WRITES:
        writes.append((field, "POST", f"/rooms/{s.room}", body, None))
        writes.append((field, "POST", f"/rooms/{s.room}", body, guest))
    for field, body in CALL_URL_WRITES:
        writes.append((field, "POST", "/call-url", body, s.owner))
        writes.append((field, "PUT", f"/call-url/{s.link}", body, s.owner))
    for field, body in CALL_WRITES:
        writes.append((field, "POST", f"/calls/{s.link}", body, None))
    for field, body in PUSH_WRITES:
        writes.append((field, "POST", "/registration", body, s.owner))
    return writes


async def send(s: Scene, method: str, path: str, body: str, credentials: Any) -> Any:
    """``credentials``: a Hawk session, Basic headers (a participant) or ``None``."""
    if isinstance(credentials, dict):
        headers = {"Content-Type": "application/json", **credentials}
        return await s.harness.client.request(method, path, content=body.encode(), headers=headers)
    return await s.write(method, path, body, hawk=credentials)


@pytest.mark.parametrize(("literal", "errno", "error"), REFUSED, ids=lambda v: str(v)[:24])
async def test_unstorable_values_are_refused_in_every_field(
    harness: Harness, literal: str, errno: int, error: str
) -> None:
    s = await scene(harness)
    before = await s.read_everything()
    for field, method, path, template, credentials in every_write(s):
        answer = await send(s, method, path, template.replace("@", literal), credentials)
        assert answer.status_code == 400, (field, method, path, answer.text)
        body = answer.json()
        expected = error if errno == 106 else f"{field} {error}"
        assert (body["errno"], body["error"]) == (errno, expected), (method, path)
    assert await s.read_everything() == before


@pytest.mark.parametrize("literal", KEPT)
async def test_valid_odd_values_are_stored_and_read_back(harness: Harness, literal: str) -> None:
    s = await scene(harness)
    value = json.loads(literal)
    for field, method, path, template, credentials in every_write(s):
        answer = await send(s, method, path, template.replace("@", literal), credentials)
        assert answer.status_code < 500, (field, method, path, answer.text)
    answers = await s.read_everything()
    contexts = [room["context"] for room in answers[0] if room.get("context")]
    assert {**CONTEXT_KEYS, "extra": value} in contexts
    assert any(context["value"] == value for context in contexts)
    if isinstance(value, str):
        texts = json.dumps(answers, ensure_ascii=False)
        for stored in ("roomName", "roomOwner", "callerId", "subject", "displayName"):
            assert f'"{stored}": {json.dumps(value, ensure_ascii=False)}' in texts, stored


async def test_a_key_with_a_lone_surrogate_is_refused(harness: Harness) -> None:
    s = await scene(harness)
    answer = await s.write("POST", "/rooms", '{"roomOwner": "o", "\\ud800": 1}', hawk=s.owner)
    assert answer.status_code == 400
    assert answer.json()["errno"] == 107
    assert answer.json()["error"] == "The body should not hold a key with a lone surrogate"
    nested = (
        '{"roomOwner": "o", "context": {"value": "v", "alg": "a", "wrappedKey": "k", '
        '"\\udfff": 1}}'
    )
    answer = await s.write("POST", "/rooms", nested, hawk=s.owner)
    assert answer.json()["error"] == "context should not hold a key with a lone surrogate"
    await s.read_everything()


@pytest.mark.parametrize("query", ["9223372036854775808", "-9223372036854775809", "9" * 5000])
async def test_query_versions_beyond_64_bits_are_refused(harness: Harness, query: str) -> None:
    s = await scene(harness)
    for path in ("/rooms", "/calls"):
        answer = await harness.client.get(f"{path}?version={query}", hawk=s.owner)
        assert answer.status_code == 400, answer.text
        assert answer.json()["errno"] == 107
        assert answer.json()["error"] == "version should be a valid number"
    largest = await harness.client.get("/rooms?version=9223372036854775807", hawk=s.owner)
    assert largest.status_code == 200
    assert largest.json() == []


@pytest.mark.parametrize("size", ["9223372036854775808", '"9223372036854775808"', "1e300"])
async def test_client_max_size_beyond_64_bits_is_refused(harness: Harness, size: str) -> None:
    s = await scene(harness)
    body = '{"action": "join", "displayName": "g", "clientMaxSize": ' + size + "}"
    answer = await s.write("POST", f"/rooms/{s.room}", body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["errno"] == 107
    await s.read_everything()


async def test_a_call_url_expiry_of_5000_digits_is_refused(harness: Harness) -> None:
    s = await scene(harness)
    body = {"callerId": "c", "expiresIn": "9" * 5000}
    answer = await harness.client.post("/call-url", json=body, hawk=s.owner)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "expiresIn should be a valid number"


async def test_status_action_values_are_refused_too(harness: Harness) -> None:
    """``status`` stores nothing, but reads its body with the same reader."""
    s = await scene(harness)
    response = await act(harness, s.room, "status", headers=basic(s.media), state=2**64)
    assert response.status_code == 400
    assert response.json()["error"] == "state should not hold an integer beyond 64 bits"
