"""Our Hawk header parser and payload hash agree with mohawk's, which they replace only to
skip its eager debug formatting (a measurable cost under load)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mohawk.exc import HawkFail
from mohawk.util import calculate_payload_hash, parse_authorization_header

from loop.hawk import _parse_attributes, payload_hash

header_values = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters='"\\'),
    max_size=40,
)


@given(
    body=st.binary(max_size=300),
    content_type=st.sampled_from(
        [None, "", "application/json", "Application/JSON; charset=utf-8", "text/plain"]
    ),
)
def test_payload_hash_is_mohawks(body: bytes, content_type: str | None) -> None:
    expected = calculate_payload_hash(body, "sha256", content_type).decode("ascii")
    assert payload_hash(body, content_type) == expected


@given(
    attributes=st.dictionaries(
        st.sampled_from(["id", "ts", "nonce", "hash", "ext", "mac", "app", "dlg"]),
        header_values,
        min_size=1,
    )
)
def test_parsing_is_mohawks(attributes: dict[str, str]) -> None:
    text = ", ".join(f'{key}="{value}"' for key, value in attributes.items())
    assert _parse_attributes(text) == parse_authorization_header("Hawk " + text)


@pytest.mark.parametrize(
    "text",
    [
        'id="a", id="b"',
        'unknown="x"',
        'id="a" garbage',
        'id="new\nline"',
        'id="' + "x" * 5000 + '"',
    ],
)
def test_parsing_refuses_what_mohawk_refuses(text: str) -> None:
    with pytest.raises(HawkFail):
        parse_authorization_header("Hawk " + text)
    with pytest.raises(HawkFail):
        _parse_attributes(text)
