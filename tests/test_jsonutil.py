"""The one canonical JSON: what both storage backends and the push notifier dedup by."""

from __future__ import annotations

from loop.jsonutil import canonical, dumps


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
