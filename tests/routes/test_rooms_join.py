"""``POST /rooms/{token}`` ``join`` and seats (§4.12, §5.2-5.4; D2, D3, D5, D7, D29)."""

from __future__ import annotations

import asyncio
import json

import pytest

from loop.auth import participant_token_id
from loop.media.fake import FAKE_API_KEY, decode_token
from tests.routes.conftest import Harness
from tests.support.client import assert_error
from tests.support.rooms import create_room, join, joined, registered, room_state, user_key

ACTION_ERROR = "action should be one of join, refresh, status, leave, logDomain"


async def test_join_answers_the_media_session(harness: Harness, prefix: str) -> None:
    harness.client.prefix = prefix
    owner = await harness.client.register()
    token = (await create_room(harness, owner))["roomToken"]
    response = await join(harness, token)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"apiKey", "sessionId", "sessionToken", "expires"}
    assert all(isinstance(body[key], str) for key in ("apiKey", "sessionId", "sessionToken"))
    assert body["expires"] == 300 and isinstance(body["expires"], int)
    room = (await room_state(harness, token)).room
    assert (body["apiKey"], body["sessionId"]) == (room.api_key, room.session_id)


async def test_media_token_says_who_joined(harness: Harness) -> None:
    owner = await registered(harness, "alice@example.com")
    guest = await harness.client.register()
    token = (await create_room(harness, owner))["roomToken"]
    owner_token = decode_token(await joined(harness, token, owner))
    guest_token = decode_token(await joined(harness, token, guest))
    anonymous_token = decode_token(await joined(harness, token))
    roles = [t.role for t in (owner_token, guest_token, anonymous_token)]
    assert roles == ["moderator", "publisher", "publisher"]
    assert owner_token.expire_time == int(harness.clock.now()) + 86400
    view = (await harness.client.get(f"/rooms/{token}", hawk=owner)).json()
    ids = [p["roomConnectionId"] for p in view["participants"]]
    assert owner_token.connection_data is not None and guest_token.connection_data is not None
    assert json.loads(owner_token.connection_data) == {
        "displayName": "Guest",
        "account": "alice@example.com",
        "id": ids[0],
    }
    assert json.loads(guest_token.connection_data) == {"displayName": "Guest", "id": ids[1]}


async def test_participants_are_filed_by_device_or_media_token(harness: Harness) -> None:
    owner = await harness.client.register()
    token = (await create_room(harness, owner))["roomToken"]
    await joined(harness, token, owner)
    media_token = await joined(harness, token)
    ids = [p.id for p in (await room_state(harness, token)).participants]
    settings = harness.services.settings
    assert ids == [user_key(harness, owner), participant_token_id(settings, media_token)]


async def test_join_touches_the_room(harness: Harness) -> None:
    owner = await harness.client.register()
    token = (await create_room(harness, owner, expiresIn=1))["roomToken"]
    harness.clock.advance(120)
    await joined(harness, token)
    room = (await room_state(harness, token)).room
    now = int(harness.clock.now())
    assert (room.update_time, room.expires_at) == (now, now + 1344 * 3600)


async def test_rejoining_replaces_the_devices_record(harness: Harness) -> None:
    owner = await harness.client.register()
    token = (await create_room(harness, owner))["roomToken"]
    await joined(harness, token, owner)
    first = (await room_state(harness, token)).participants
    await joined(harness, token, owner)
    second = (await room_state(harness, token)).participants
    assert len(first) == len(second) == 1
    assert first[0].connection_id != second[0].connection_id


async def test_join_parameters(harness: Harness) -> None:
    owner = await harness.client.register()
    token = (await create_room(harness, owner))["roomToken"]
    response = await harness.client.post(f"/rooms/{token}", json={"action": "join"})
    assert_error(response, 400, 108, "Missing: displayName, clientMaxSize")
    for size in ("abc", 0, -3, 1.5, None, [2]):
        response = await join(harness, token, client_max_size=size)
        assert_error(response, 400, 107, "clientMaxSize should be a number.")
    assert (await join(harness, token, client_max_size="2")).status_code == 200
    headers = {"Accept": "text/plain"}
    response = await join(harness, token, headers=headers)
    assert_error(response, 406, 106)


async def test_action_is_required_and_checked(harness: Harness) -> None:
    owner = await harness.client.register()
    token = (await create_room(harness, owner))["roomToken"]
    response = await harness.client.post(f"/rooms/{token}", json={})
    assert_error(response, 400, 108, ACTION_ERROR)
    response = await harness.client.post(f"/rooms/{token}", json={"action": "dance"})
    assert_error(response, 400, 107, ACTION_ERROR)


async def test_operation_is_a_synonym_of_action(harness: Harness) -> None:
    owner = await harness.client.register()
    token = (await create_room(harness, owner))["roomToken"]
    body = {"operation": "join", "displayName": "Guest", "clientMaxSize": 2}
    response = await harness.client.post(f"/rooms/{token}", json=body)
    assert response.status_code == 200, response.text


async def test_unknown_room_is_404_first(harness: Harness) -> None:
    response = await harness.client.post("/rooms/nope", json={})
    assert_error(response, 404, 105, "Token not found.")


async def test_a_seat_is_kept_for_the_owner(harness: Harness) -> None:
    owner = await harness.client.register()
    token = (await create_room(harness, owner, maxSize=2))["roomToken"]
    await joined(harness, token)
    assert_error(await join(harness, token), 400, 202, "The room is full.")
    assert (await join(harness, token, owner)).status_code == 200
    assert_error(await join(harness, token, await harness.client.register()), 400, 202)


async def test_the_smallest_client_caps_the_room(harness: Harness) -> None:
    owner = await harness.client.register()
    token = (await create_room(harness, owner, maxSize=5))["roomToken"]
    assert (await join(harness, token, owner, client_max_size=2)).status_code == 200
    assert (await join(harness, token)).status_code == 200
    assert_error(await join(harness, token), 400, 202)
    view = (await harness.client.get(f"/rooms/{token}", hawk=owner)).json()
    assert view["clientMaxSize"] == 2


async def test_a_client_that_cannot_show_everyone_is_refused(harness: Harness) -> None:
    owner = await harness.client.register()
    token = (await create_room(harness, owner))["roomToken"]
    await joined(harness, token, owner)
    error = "Too many participants in the room for you to handle."
    assert_error(await join(harness, token, client_max_size=1), 400, 121, error)
    assert (await join(harness, token, client_max_size=2)).status_code == 200


async def test_a_users_own_devices_do_not_take_its_seats(harness: Harness) -> None:
    owner = await harness.client.register()
    laptop = await registered(harness, "bob@example.com")
    phone = await registered(harness, "bob@example.com")
    token = (await create_room(harness, owner, maxSize=2))["roomToken"]
    assert (await join(harness, token, laptop)).status_code == 200
    assert (await join(harness, token, phone)).status_code == 200
    assert len((await room_state(harness, token)).participants) == 2


async def test_lapsed_participants_free_their_seat(harness: Harness) -> None:
    owner = await harness.client.register()
    token = (await create_room(harness, owner, maxSize=2))["roomToken"]
    await joined(harness, token)
    harness.clock.advance(harness.services.settings.rooms.participant_ttl)
    assert (await join(harness, token)).status_code == 200


async def test_concurrent_joins_never_overfill_a_room(harness: Harness) -> None:
    owner = await harness.client.register()
    token = (await create_room(harness, owner, maxSize=3))["roomToken"]
    responses = await asyncio.gather(*(join(harness, token) for _ in range(8)))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200, 200] + [400] * 6
    assert len((await room_state(harness, token)).participants) == 2


async def test_stale_media_credentials_get_a_new_session(harness: Harness) -> None:
    owner = await harness.client.register()
    token = (await create_room(harness, owner, channel="beta"))["roomToken"]
    state = await room_state(harness, token)
    await harness.services.storage.update_room(
        token,
        owner=state.room.owner,
        changes={
            "api_key": "retired-key",
            "update_time": state.room.update_time,
            "expires_at": state.room.expires_at,
        },
        now=harness.clock.now(),
    )
    body = (await join(harness, token)).json()
    room = (await room_state(harness, token)).room
    assert body["apiKey"] == room.api_key == FAKE_API_KEY
    assert body["sessionId"] == room.session_id != state.room.session_id
    assert decode_token(body["sessionToken"]).session_id == room.session_id


@pytest.mark.parametrize("name", ["Invité", "", "x" * 255])
async def test_display_names(harness: Harness, name: str) -> None:
    owner = await harness.client.register()
    token = (await create_room(harness, owner))["roomToken"]
    assert (await join(harness, token, owner, name=name)).status_code == 200
    view = (await harness.client.get(f"/rooms/{token}", hawk=owner)).json()
    assert view["participants"][0]["displayName"] == name


async def test_overlong_display_names_are_refused(harness: Harness) -> None:
    owner = await harness.client.register()
    token = (await create_room(harness, owner))["roomToken"]
    response = await join(harness, token, name="x" * 256)
    assert_error(response, 400, 107, "displayName should be shorter than 255 characters")
