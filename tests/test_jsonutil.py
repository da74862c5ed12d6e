"""The one canonical JSON: what both storage backends and the push notifier dedup by."""

from __future__ import annotations

import pytest

from loop.jsonutil import (
    INT64_MAX,
    INT64_MIN,
    MAX_DEPTH,
    MalformedJson,
    RefusedValue,
    canonical,
    dumps,
    leading_integer,
    loads,
)


def test_equal_values_give_equal_texts_whatever_the_key_order() -> None:
    first = canonical({"endpoint": "https://push.example/é", "keys": {"p256dh": "x", "auth": "y"}})
    second = canonical(
        {"keys": {"auth": "y", "p256dh": "x"}, "endpoint": "https://push.example/é"}
    )
    assert first == second
    assert first == '{"endpoint":"https://push.example/é","keys":{"auth":"y","p256dh":"x"}}'


def test_stored_and_answered_texts_agree_on_non_ascii() -> None:
    """Both are UTF-8 without \\u escapes, so a value has one text."""
    assert canonical(["Zoë"]).encode("utf-8") == dumps(["Zoë"]) == '["Zoë"]'.encode()


def test_the_reader_keeps_what_storage_can_hold() -> None:
    text = '{"a": ["\\ud83d\\ude00", "\\u0000", ' + f"{INT64_MAX}, {INT64_MIN}, 1.5e300]}}"
    assert loads(text) == {"a": ["\U0001f600", "\x00", INT64_MAX, INT64_MIN, 1.5e300]}
    assert loads("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None


@pytest.mark.parametrize("text", ["NaN", "[Infinity]", '{"a": -Infinity}', "[" * 33 + "]" * 33])
def test_the_reader_refuses_what_is_not_json(text: str) -> None:
    with pytest.raises(MalformedJson):
        loads(text)


def test_deep_nesting_is_refused_without_exhausting_the_stack() -> None:
    with pytest.raises(MalformedJson):
        loads("[" * 100_000 + "]" * 100_000)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": "\\ud800"}', "a should not hold a lone surrogate"),
        ('{"a": {"b": ["x\\udfff"]}}', "a.b should not hold a lone surrogate"),
        ('{"a": {"\\ud800": 1}}', "a should not hold a key with a lone surrogate"),
        ('{"\\udbff": 1}', "The body should not hold a key with a lone surrogate"),
        (f'{{"n": {INT64_MAX + 1}}}', "n should not hold an integer beyond 64 bits"),
        (f'{{"n": {INT64_MIN - 1}}}', "n should not hold an integer beyond 64 bits"),
        ('{"n": 1e400}', "n should not hold a number beyond a double's range"),
    ],
)
def test_the_reader_refuses_values_no_storage_reads_back(text: str, message: str) -> None:
    with pytest.raises(RefusedValue, match=f"^{message}$"):
        loads(text)


def test_lone_surrogates_in_raw_bytes_are_refused() -> None:
    """``json.loads`` decodes bytes with ``surrogatepass``: UTF-8-encoded surrogates too."""
    with pytest.raises(RefusedValue):
        loads(b'{"a": "\xed\xa0\x80"}')


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("12", 12), (" -3x", -3), ("abc", 0), ("", 0), ("+0007", 7), ("0", 0),
        ("9223372036854775807", INT64_MAX), ("-9223372036854775808", INT64_MIN),
        ("9223372036854775808", None), ("-9223372036854775809", None), ("9" * 5000, None),
        ("0" * 5000 + "1", 1),
    ],
)  # fmt: skip
def test_leading_integer_reads_as_parse_int_within_64_bits(text: str, number: int | None) -> None:
    assert leading_integer(text) == number
