"""``GET /rooms/{token}``: public and full views (§4.12, §5.5; D2, D10, D26)."""

from __future__ import annotations

from tests.routes.conftest import Harness
from tests.support.client import assert_error
from tests.support.rooms import CONTEXT, act, basic, create_room, join, joined, registered

PUBLIC_KEYS = {"roomToken", "context", "roomOwner", "roomUrl"}


async def test_anonymous_get_is_the_public_view(harness: Harness, prefix: str) -> None:
    harness.client.prefix = prefix
    owner = await harness.client.register()
    created = await create_room(harness, owner, roomOwner="Alice")
    await joined(harness, created["roomToken"])
    response = await harness.client.get(f"/rooms/{created['roomToken']}")
    assert response.status_code == 200
    assert response.json() == {
        "roomToken": created["roomToken"],
        "context": CONTEXT,
        "roomOwner": "Alice",
        "roomUrl": created["roomUrl"],
    }


async def test_public_view_of_a_legacy_room_has_its_name(harness: Harness) -> None:
    owner = await harness.client.register()
    body = {"roomName": "Old room", "roomOwner": "Alice", "maxSize": 2}
    token = (await harness.client.post("/rooms", json=body, hawk=owner)).json()["roomToken"]
    view = (await harness.client.get(f"/rooms/{token}")).json()
    assert view["roomName"] == "Old room" and view["context"] is None


async def test_owner_gets_the_full_view(harness: Harness) -> None:
    owner = await harness.client.register()
    token = (await create_room(harness, owner))["roomToken"]
    await joined(harness, token, owner)
    view = (await harness.client.get(f"/rooms/{token}", hawk=owner)).json()
    assert {"participants", "maxSize", "clientMaxSize", "ctime", "creationTime"} <= set(view)
    (participant,) = view["participants"]
    assert participant["owner"] is True and participant["displayName"] == "Guest"
    assert participant["id"] == participant["roomConnectionId"]
    assert len(participant["roomConnectionId"]) == 36
    assert "account" not in participant


async def test_participants_get_the_full_view(harness: Harness) -> None:
    owner = await harness.client.register()
    guest = await harness.client.register()
    token = (await create_room(harness, owner))["roomToken"]
    await joined(harness, token, guest)
    view = (await harness.client.get(f"/rooms/{token}", hawk=guest)).json()
    assert [p["owner"] for p in view["participants"]] == [False]


async def test_link_clicker_with_its_token_gets_the_full_view(harness: Harness) -> None:
    owner = await harness.client.register()
    token = (await create_room(harness, owner))["roomToken"]
    media_token = await joined(harness, token)
    for colon in (False, True):
        response = await harness.client.get(f"/rooms/{token}", headers=basic(media_token, colon))
        assert response.status_code == 200
        assert len(response.json()["participants"]) == 1


async def test_stale_participant_token_is_refused(harness: Harness) -> None:
    owner = await harness.client.register()
    token = (await create_room(harness, owner))["roomToken"]
    media_token = await joined(harness, token)
    assert (await act(harness, token, "leave", headers=basic(media_token))).status_code == 204
    response = await harness.client.get(f"/rooms/{token}", headers=basic(media_token))
    error = "Invalid token; it may have expired."
    assert_error(response, 401, 110, error)
    assert response.headers["www-authenticate"] == f'Basic error="{error}"'


async def test_malformed_basic_credentials_are_refused(harness: Harness) -> None:
    owner = await harness.client.register()
    token = (await create_room(harness, owner))["roomToken"]
    response = await harness.client.get(f"/rooms/{token}", headers={"Authorization": "Basic !!"})
    assert_error(response, 401, 110, "Unauthorized")
    assert response.headers["www-authenticate"] == "Basic"


async def test_other_schemes_are_unsupported(harness: Harness) -> None:
    owner = await harness.client.register()
    token = (await create_room(harness, owner))["roomToken"]
    headers = {"Authorization": "Bearer abc"}
    response = await harness.client.get(f"/rooms/{token}", headers=headers)
    assert_error(response, 401, 110, "Unsupported")
    assert response.headers["www-authenticate"] == 'Basic,Hawk error="Unsupported"'


async def test_authenticated_stranger_gets_the_public_view(harness: Harness) -> None:
    owner = await harness.client.register()
    stranger = await harness.client.register()
    token = (await create_room(harness, owner))["roomToken"]
    response = await harness.client.get(f"/rooms/{token}", hawk=stranger)
    assert response.status_code == 200
    assert set(response.json()) == PUBLIC_KEYS


async def test_missing_room_wins_over_bad_credentials(harness: Harness) -> None:
    headers = {"Authorization": 'Hawk id="x", ts="1", nonce="n", mac="m"'}
    assert_error(await harness.client.get("/rooms/nope", headers=headers), 404, 105)
    assert_error(await harness.client.get("/rooms/nope", headers=basic("t")), 404, 105)
    headers = {"Authorization": "Bearer abc"}
    assert_error(await harness.client.get("/rooms/nope", headers=headers), 404, 105)


async def test_bad_hawk_on_an_existing_room_is_401(harness: Harness) -> None:
    owner = await harness.client.register()
    token = (await create_room(harness, owner))["roomToken"]
    headers = {"Authorization": 'Hawk id="x", ts="1", nonce="n", mac="m"'}
    assert_error(await harness.client.get(f"/rooms/{token}", headers=headers), 401, 110)


async def test_registered_participants_show_their_account(harness: Harness) -> None:
    owner = await registered(harness, "alice@example.com")
    friend = await registered(harness, "bob@example.com")
    token = (await create_room(harness, owner))["roomToken"]
    await joined(harness, token, owner)
    await joined(harness, token, friend)
    view = (await harness.client.get(f"/rooms/{token}", hawk=owner)).json()
    accounts = {p["account"]: p["owner"] for p in view["participants"]}
    assert accounts == {"alice@example.com": True, "bob@example.com": False}
    stored = await harness.services.storage.get_room(token, now=harness.clock.now())
    assert stored is not None
    assert all("example.com" not in (p.account or "") for p in stored.participants)


async def test_another_device_of_the_owner_gets_the_full_view(harness: Harness) -> None:
    laptop = await registered(harness, "alice@example.com")
    phone = await registered(harness, "Alice@Example.com")
    token = (await create_room(harness, laptop))["roomToken"]
    view = (await harness.client.get(f"/rooms/{token}", hawk=phone)).json()
    assert view["participants"] == []
    response = await join(harness, token, phone)
    assert response.status_code == 200
