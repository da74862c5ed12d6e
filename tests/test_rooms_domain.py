"""The pure parts of rooms: seats (§5.3), number parsing (D2, D5), views (§5.5)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loop import errors
from loop.config import RoomsSettings
from loop.jsonutil import INT64_MAX, INT64_MIN
from loop.rooms import validation
from loop.rooms.capacity import Refusal, refusal, room_client_max_size
from loop.rooms.views import full_view, public_view
from loop.storage import Participant, RoomState
from loop.storage.testing.factories import make_participant, make_room

OWNER = "owner"
users = st.one_of(st.none(), st.sampled_from([OWNER, "bob", "carol", "dave"]))
sizes = st.integers(min_value=1, max_value=8)


def person(n: int, user: str | None, client_max_size: int) -> Participant:
    return make_participant(f"p{n}", user=user, client_max_size=client_max_size)


def decide(
    max_size: int, joiner: str | None, size: int, people: list[Participant]
) -> Refusal | None:
    return refusal(
        max_size=max_size, owner=OWNER, joiner=joiner, client_max_size=size, participants=people
    )


# -- seats --------------------------------------------------------------------------------------


def test_first_guest_of_a_two_seat_room_leaves_the_owners_seat() -> None:
    assert decide(2, None, 2, []) is None
    guest = [person(1, None, 2)]
    assert decide(2, None, 2, guest) is Refusal.ROOM_FULL
    assert decide(2, "bob", 2, guest) is Refusal.ROOM_FULL
    assert decide(2, OWNER, 2, guest) is None


def test_a_joiner_whose_client_shows_too_few_is_refused() -> None:
    people = [person(1, OWNER, 5), person(2, "bob", 5)]
    assert decide(5, "carol", 2, people) is Refusal.CLIENT_CAPACITY
    assert decide(5, "carol", 3, people) is None


def test_room_full_is_reported_before_client_capacity() -> None:
    people = [person(1, "bob", 2)]
    assert decide(5, "carol", 1, people) is Refusal.ROOM_FULL


@given(st.lists(st.tuples(users, sizes), max_size=10), users, sizes, st.integers(2, 6))
def test_own_devices_never_take_a_users_seats(
    existing: list[tuple[str | None, int]], joiner: str | None, size: int, max_size: int
) -> None:
    people = [person(n, user, s) for n, (user, s) in enumerate(existing) if user != joiner]
    own = [person(100 + n, joiner, 1) for n in range(3)] if joiner is not None else []
    assert decide(max_size, joiner, size, people) == decide(max_size, joiner, size, people + own)


@given(st.lists(st.tuples(users, sizes), max_size=10), users, sizes, st.integers(2, 6))
def test_more_people_never_make_room(
    existing: list[tuple[str | None, int]], joiner: str | None, size: int, max_size: int
) -> None:
    people = [person(n, user, s) for n, (user, s) in enumerate(existing)]
    for cut in range(len(people)):
        if decide(max_size, joiner, size, people[:cut]) is not None:
            assert decide(max_size, joiner, size, people) is not None


@given(st.lists(st.tuples(st.booleans(), sizes), max_size=12), st.integers(2, 6))
def test_accepted_joins_never_overfill_the_room(
    arrivals: list[tuple[bool, int]], max_size: int
) -> None:
    """Distinct users (or the owner) arrive in turn; whoever is seated joins."""
    people: list[Participant] = []
    for n, (is_owner, size) in enumerate(arrivals):
        joiner = OWNER if is_owner else f"user-{n}"
        if is_owner and any(p.user == OWNER for p in people):
            continue
        if decide(max_size, joiner, size, people) is None:
            people.append(person(n, joiner, size))
        assert len(people) <= room_client_max_size(max_size, people)


@given(st.integers(2, 6), st.lists(st.integers(0, 3), max_size=8))
def test_the_owner_always_finds_a_seat_kept_for_it(max_size: int, extra: list[int]) -> None:
    """As long as the guests' clients can show the whole room (a guest whose client shows
    fewer lowers the room's limit for everybody, the owner included)."""
    people: list[Participant] = []
    for n, more in enumerate(extra):
        if decide(max_size, None, max_size + more, people) is None:
            people.append(person(n, None, max_size + more))
    assert len(people) == min(len(extra), max_size - 1)
    assert decide(max_size, OWNER, max_size, people) is None


# -- numbers ------------------------------------------------------------------------------------


@given(st.integers(min_value=INT64_MIN, max_value=INT64_MAX))
def test_integers_are_read_from_numbers_and_decimal_strings(n: int) -> None:
    assert validation.integer(n) == n
    assert validation.integer(str(n)) == n
    assert validation.integer(f" {n} ") == n


@given(
    st.integers(min_value=INT64_MAX + 1, max_value=10**30)
    | st.integers(max_value=INT64_MIN - 1, min_value=-(10**29))
)
def test_integers_beyond_what_storage_holds_are_not_integers(n: int) -> None:
    assert validation.integer(n) is None
    assert validation.integer(str(n)) is None


@pytest.mark.parametrize(
    "value", [True, False, None, 2.5, "2.5", "2abc", "", " ", "0x10", "1e3", [], {}, float("nan")]
)
def test_other_values_are_not_integers(value: Any) -> None:
    assert validation.integer(value) is None


def test_integral_floats_are_integers() -> None:
    assert validation.integer(4.0) == 4


@pytest.mark.parametrize(
    ("raw", "since"),
    [
        ("12", 12),
        (" 12abc", 12),
        ("+7", 7),
        ("0", None),
        ("-3", None),
        ("abc", None),
        (None, None),
    ],
)
def test_version_is_read_like_parse_int(raw: str | None, since: int | None) -> None:
    assert validation.version(raw) == since


ROOM_FIELDS = st.sampled_from(["roomName", "context", "roomOwner", "expiresIn", "maxSize"])
ANY_JSON = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=300),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.sampled_from(["value", "alg", "wrappedKey", "x"]), st.integers()),
)


@given(st.dictionaries(ROOM_FIELDS, ANY_JSON))
def test_room_params_either_validate_or_raise_a_400(body: dict[str, Any]) -> None:
    settings = RoomsSettings()
    try:
        params = validation.room_params(body, settings)
    except errors.LoopError as exc:
        assert (exc.status, exc.errno) == (400, errors.Errno.INVALID_PARAMETERS)
        return
    if params.max_size is not None:
        assert 2 <= params.max_size <= settings.max_size
    if params.expires_in is not None:
        assert 1 <= params.expires_in <= settings.max_ttl
    assert params.room_owner is None or isinstance(params.room_owner, str)


# -- views --------------------------------------------------------------------------------------


def test_views_never_show_user_keys_or_device_ids() -> None:
    settings = RoomsSettings(hkdf_salt="salt")  # type: ignore[arg-type]
    room = make_room(owner="secret-owner-key")
    people = (
        make_participant(
            "secret-1", user="secret-owner-key", connection_id="c1", display_name="A"
        ),
        make_participant("secret-2", user="secret-user-key", connection_id="c2", display_name="B"),
    )
    for view in (full_view(RoomState(room, people, 1), settings), public_view(room, settings)):
        assert "secret" not in json.dumps(view)


def test_full_view_lists_participants_as_an_array_with_owner_flags() -> None:
    settings = RoomsSettings()
    room = make_room(owner="o", max_size=4)
    people = (make_participant("a", user="o", client_max_size=3), make_participant("b"))
    view = full_view(RoomState(room, people, 1), settings)
    assert [p["owner"] for p in view["participants"]] == [True, False]
    assert view["clientMaxSize"] == 3 and view["currSize"] == 2
    empty = full_view(RoomState(room, (), 0), settings)
    assert empty["participants"] == [] and empty["clientMaxSize"] == 4
