"""``refresh``, ``leave``, ``status`` and ``logDomain`` (§4.12; D26, D29)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.routes.conftest import Harness
from tests.support.client import assert_error
from tests.support.rooms import act, basic, create_room, joined, room_state

STATUS: dict[str, Any] = {
    "event": "Session.connectionCreated",
    "state": "waiting",
    "connections": 1,
    "sendStreams": 0,
    "recvStreams": "0",
}
DOMAINS = [{"domain": "mozilla.org", "count": 3}, {"domain": "example.com", "count": "1"}]
NOT_IN_ROOM = "Can't update status for a room you aren't in."


@pytest.fixture
async def room(harness: Harness) -> str:
    owner = await harness.client.register()
    token: str = (await create_room(harness, owner))["roomToken"]
    return token


@pytest.mark.parametrize("action", ["refresh", "status", "leave", "logDomain"])
async def test_actions_other_than_join_need_credentials(
    harness: Harness, room: str, action: str
) -> None:
    response = await act(harness, room, action)
    assert_error(response, 401, 110, "Unauthorized")
    assert response.headers["www-authenticate"] == "Token,Hawk"


async def test_refresh_extends_participation(harness: Harness, room: str, prefix: str) -> None:
    harness.client.prefix = prefix
    guest = await harness.client.register()
    await joined(harness, room, guest)
    harness.clock.advance(250)
    response = await act(harness, room, "refresh", guest, sessionToken="informational")
    assert response.status_code == 200
    assert response.json() == {"expires": 300}
    (participant,) = (await room_state(harness, room)).participants
    assert participant.expires_at == harness.clock.now() + 300
    harness.clock.advance(250)
    assert len((await room_state(harness, room)).participants) == 1


async def test_refresh_after_lapse_is_410(harness: Harness, room: str) -> None:
    guest = await harness.client.register()
    await joined(harness, room, guest)
    harness.clock.advance(300)
    response = await act(harness, room, "refresh", guest)
    assert_error(response, 410, 111, "Participation has expired.")


async def test_refresh_by_a_device_that_never_joined_is_410(harness: Harness, room: str) -> None:
    response = await act(harness, room, "refresh", await harness.client.register())
    assert_error(response, 410, 111, "Participation has expired.")


async def test_link_clicker_refreshes_and_leaves_with_its_token(
    harness: Harness, room: str
) -> None:
    media_token = await joined(harness, room)
    response = await act(harness, room, "refresh", headers=basic(media_token))
    assert response.json() == {"expires": 300}
    response = await act(harness, room, "leave", headers=basic(media_token, colon=True))
    assert response.status_code == 204 and response.content == b""
    assert (await room_state(harness, room)).participants == ()
    response = await act(harness, room, "refresh", headers=basic(media_token))
    assert_error(response, 401, 110, "Invalid token; it may have expired.")


async def test_leave_removes_the_participant_and_touches_the_room(
    harness: Harness, room: str
) -> None:
    guest = await harness.client.register()
    await joined(harness, room, guest)
    harness.clock.advance(30)
    response = await act(harness, room, "leave", guest)
    assert response.status_code == 204
    state = await room_state(harness, room)
    now = int(harness.clock.now())
    assert state.participants == ()
    assert (state.room.update_time, state.room.expires_at) == (now, now + 1344 * 3600)


async def test_leave_without_joining_is_refused(harness: Harness, room: str) -> None:
    guest = await harness.client.register()
    response = await act(harness, room, "leave", guest)
    assert_error(response, 400, 203, "Unable to leave a room you have not joined.")


async def test_status_is_accepted_from_participants(harness: Harness, room: str) -> None:
    guest = await harness.client.register()
    await joined(harness, room, guest)
    response = await act(harness, room, "status", guest, **STATUS)
    assert response.status_code == 204 and response.content == b""


async def test_status_from_a_non_participant_is_refused(harness: Harness, room: str) -> None:
    response = await act(harness, room, "status", await harness.client.register(), **STATUS)
    assert_error(response, 400, 203, NOT_IN_ROOM)


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"event": None}, "'event' field is missing in body."),
        ({"state": None}, "'state' field is missing in body."),
        ({"connections": None}, "'connections' field is missing in body."),
        ({"recvStreams": None}, "'recvStreams' field is missing in body."),
        ({"connections": -1}, "Invalid connections number."),
        ({"sendStreams": "two"}, "Invalid sendStreams number."),
        ({"recvStreams": [1]}, "Invalid recvStreams number."),
    ],
)
async def test_status_fields(
    harness: Harness, room: str, fields: dict[str, Any], error: str
) -> None:
    guest = await harness.client.register()
    await joined(harness, room, guest)
    body = {**STATUS, **fields}
    for name, value in fields.items():
        if value is None:
            body.pop(name)
    assert_error(await act(harness, room, "status", guest, **body), 400, 107, error)


async def test_status_fields_are_checked_before_membership(harness: Harness, room: str) -> None:
    response = await act(harness, room, "status", await harness.client.register())
    assert_error(response, 400, 107, "'event' field is missing in body.")


async def test_log_domain_counts_shared_domains(harness: Harness, room: str) -> None:
    from loop.metrics import CountingMetrics

    metrics = CountingMetrics()
    harness.services.metrics = metrics
    guest = await harness.client.register()
    await joined(harness, room, guest)
    response = await act(harness, room, "logDomain", guest, domains=DOMAINS)
    assert response.status_code == 204
    assert metrics.count("loop.room.shared_domains") == 4


@pytest.mark.parametrize(
    "domains",
    [None, "mozilla.org", [{"domain": "a"}], [{"count": 1}], ["a"], [{"domain": 1, "count": 1}]],
)
async def test_log_domain_needs_a_list_of_domains(
    harness: Harness, room: str, domains: Any
) -> None:
    guest = await harness.client.register()
    await joined(harness, room, guest)
    error = "Domains must be a list of objects with both a ``domain`` and ``count`` property."
    response = await act(harness, room, "logDomain", guest, domains=domains)
    assert_error(response, 400, 107, error)


async def test_log_domain_without_domains_is_missing(harness: Harness, room: str) -> None:
    """``domains`` is required (loop-api.md §4.12): absent is 400/108, as any missing field."""
    guest = await harness.client.register()
    await joined(harness, room, guest)
    response = await act(harness, room, "logDomain", guest)
    assert_error(response, 400, 108, "Missing: domains")


async def test_log_domain_after_leaving_is_refused(harness: Harness, room: str) -> None:
    guest = await harness.client.register()
    await joined(harness, room, guest)
    await act(harness, room, "leave", guest)
    response = await act(harness, room, "logDomain", guest, domains=DOMAINS)
    assert_error(response, 400, 203, NOT_IN_ROOM)


async def test_actions_on_a_deleted_room_are_404(harness: Harness) -> None:
    owner = await harness.client.register()
    token = (await create_room(harness, owner))["roomToken"]
    await joined(harness, token, owner)
    await harness.client.delete(f"/rooms/{token}", hawk=owner)
    for action in ("refresh", "leave", "status"):
        assert_error(await act(harness, token, action, owner), 404, 105)
