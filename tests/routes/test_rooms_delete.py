"""``DELETE /rooms/{token}`` and bulk delete ``PATCH /rooms`` (§4.12, §5.7; D11)."""

from __future__ import annotations

from tests.routes.conftest import Harness
from tests.support.client import assert_error
from tests.support.rooms import create_room, joined

NOT_FOUND = {"code": 404, "errno": 105, "error": "Room not found."}


async def test_owner_deletes_a_room(harness: Harness, prefix: str) -> None:
    harness.client.prefix = prefix
    owner = await harness.client.register()
    token = (await create_room(harness, owner))["roomToken"]
    await joined(harness, token)
    response = await harness.client.delete(f"/rooms/{token}", hawk=owner)
    assert response.status_code == 204 and response.content == b""
    assert_error(await harness.client.get(f"/rooms/{token}"), 404, 105)
    assert await harness.services.storage.get_room(token, now=harness.clock.now()) is None


async def test_delete_checks_existence_then_ownership(harness: Harness) -> None:
    owner = await harness.client.register()
    stranger = await harness.client.register()
    token = (await create_room(harness, owner))["roomToken"]
    assert_error(await harness.client.delete("/rooms/nope", hawk=stranger), 404, 105)
    response = await harness.client.delete(f"/rooms/{token}", hawk=stranger)
    assert_error(response, 403, 999, "Authenticated user is not the owner of this room.")
    assert (await harness.client.get(f"/rooms/{token}")).status_code == 200


async def test_delete_requires_hawk(harness: Harness) -> None:
    response = await harness.client.delete("/rooms/nope")
    assert_error(response, 401, 110)


async def test_deleting_twice_is_404(harness: Harness) -> None:
    owner = await harness.client.register()
    token = (await create_room(harness, owner))["roomToken"]
    assert (await harness.client.delete(f"/rooms/{token}", hawk=owner)).status_code == 204
    assert_error(await harness.client.delete(f"/rooms/{token}", hawk=owner), 404, 105)


async def test_bulk_delete_answers_207_with_one_answer_per_token(
    harness: Harness, prefix: str
) -> None:
    harness.client.prefix = prefix
    owner = await harness.client.register()
    stranger = await harness.client.register()
    mine = [(await create_room(harness, owner))["roomToken"] for _ in range(2)]
    theirs = (await create_room(harness, stranger))["roomToken"]
    body = {"deleteRoomTokens": [*mine, theirs, "unknown"]}
    response = await harness.client.patch("/rooms", json=body, hawk=owner)
    assert response.status_code == 207, response.text
    assert response.json() == {
        "responses": {
            mine[0]: {"code": 200},
            mine[1]: {"code": 200},
            theirs: NOT_FOUND,
            "unknown": NOT_FOUND,
        }
    }
    for token in mine:
        assert_error(await harness.client.get(f"/rooms/{token}"), 404, 105)
    assert (await harness.client.get(f"/rooms/{theirs}")).status_code == 200


async def test_bulk_delete_is_207_even_when_every_token_went(harness: Harness) -> None:
    owner = await harness.client.register()
    token = (await create_room(harness, owner))["roomToken"]
    response = await harness.client.patch("/rooms", json={"deleteRoomTokens": [token]}, hawk=owner)
    assert response.status_code == 207
    assert response.json() == {"responses": {token: {"code": 200}}}


async def test_bulk_delete_of_nothing_is_404(harness: Harness) -> None:
    owner = await harness.client.register()
    body = {"deleteRoomTokens": ["a", "b"]}
    response = await harness.client.patch("/rooms", json=body, hawk=owner)
    assert response.status_code == 404
    assert response.json() == {"responses": {"a": NOT_FOUND, "b": NOT_FOUND}}


async def test_bulk_delete_parameters(harness: Harness) -> None:
    owner = await harness.client.register()
    response = await harness.client.patch("/rooms", json={}, hawk=owner)
    assert_error(response, 400, 108, "Missing: deleteRoomTokens")
    response = await harness.client.patch("/rooms", json={"deleteRoomTokens": []}, hawk=owner)
    assert_error(response, 400, 107, "deleteRoomTokens should not be empty.")
    response = await harness.client.patch("/rooms", json={"deleteRoomTokens": "a"}, hawk=owner)
    assert_error(response, 400, 107, "deleteRoomTokens should be an array of room tokens.")
    assert_error(await harness.client.patch("/rooms", json={}), 401, 110)
