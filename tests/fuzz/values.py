"""Hypothesis strategies for hostile requests: bodies, paths, queries, headers, credentials.

A drawn :class:`Plan` is pure data: credentials, tokens and identities are named by a
:class:`Ref` and resolved when the request is sent (against the rooms, sessions and links
the fuzz run made), so the same seed draws the same plans on every run and backend.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

from tests.fuzz.routes import Target


@dataclasses.dataclass(frozen=True)
class Ref:
    """Something of the fuzz run's world, resolved when the request is sent: ``room``,
    ``call``, ``identity``, ``push`` (a SimplePush URL), ``state`` (the OAuth state)…"""

    kind: str
    index: int = 0


@dataclasses.dataclass(frozen=True)
class Plan:
    target: Target
    method: str
    prefix_token: Ref | str | None
    """What fills ``{token}``/``{path}``: a real one (:class:`Ref`) or hostile text."""
    query: str
    body: Any
    """A JSON value (with :class:`Ref` inside), or ``bytes`` sent as they are."""
    content_type: str | None
    accept: str | None
    auth: str
    """How the request authenticates: see the world's ``authorize``."""
    forged: str | bytes = ""
    extra: tuple[tuple[str, str | bytes], ...] = ()
    """Further headers, odd ones (``Content-Length``, ``Host``, ``Origin``…)."""


SCALARS: list[Any] = [
    None, True, False, 0, -1, 1, 2, 255, 2**31, 2**63 - 1, -(2**63), 0.5, -0.0, 1e308,
    -1e308, 5e-324, "", " ", "0", "-1", "1.5", "2e10", "99999999999999999999", "NaN",
    "Infinity", "-Infinity", "null", "true", "[]", "{}", "x" * 5000, "é" * 300, "\u0000",
    "\r\n", "\ud7ff\ue000", "\U0001f4a9", "\u202e", "<script>alert(1)</script>", "../..",
    "%00", "%ff", "a\u0000b", "ｆｕｌｌ", "١٢٣", "http://", "https://", "mailto:x@y",
]  # fmt: skip
LEAF = st.sampled_from(SCALARS) | st.integers() | st.floats(allow_nan=False) | st.text(max_size=24)
KEY = st.sampled_from(["", "a", "__proto__", "constructor", "\u0000", "é", "x" * 300])


@functools.cache
def hostile(fields: tuple[str, ...]) -> st.SearchStrategy[Any]:
    """Any JSON value, nested a little, keyed by the API's own field names mostly."""
    keys = st.sampled_from(list(fields)) | KEY if fields else KEY
    return st.recursive(
        LEAF,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
        max_leaves=6,
    )


RAW_LITERALS = [
    '"\\ud800"', '"\\udc00x"', '"a\\ud83d"', '"\\u0000"', "18446744073709551616",
    "-9223372036854775809", "9223372036854775807", "1e400", "-1e400", "1E999", "1e-400",
    "NaN", "Infinity", "-Infinity", "[" * 40 + "]" * 40, '{"a":' * 40 + "1" + "}" * 40,
    "01", "0x10", "+1", ".5", "'x'", "undefined", '"\\x41"', '"\\u12"', "tru",
]  # fmt: skip
"""JSON text (and not-quite-JSON) that a Python value cannot express after ``dumps``."""
RAW_BODIES = [
    b"", b"{", b"}", b"null", b"[]", b"[1, 2]", b'"text"', b"123", b"true", b"\xff\xfe\x00",
    b'{"a": 1, "a": 2}', b"\x00" * 16, b"{}" * 3, b'{"\\ud800": 1}', b'{"x": "\\udfff"}',
    b" " * 4096 + b"{}", b"\xef\xbb\xbf{}", b"a=1&a=2&&=&%ff=%fe", b"roomName=%00&maxSize=-1",
    b"{" + b" " * 100_001 + b"}",
]  # fmt: skip
CONTENT_TYPES = [
    "application/json", "application/json", "application/json", "application/json",
    "application/json; charset=utf-8", "application/x-www-form-urlencoded", "text/plain",
    "application/json; charset=latin-1", "multipart/form-data; boundary=x", "", None,
]  # fmt: skip
ACCEPTS = [None] * 6 + [
    "application/json", "*/*", "text/html", "text/html,application/xhtml+xml", "image/png",
    "application/*;q=0", "",
]  # fmt: skip
FORGED: list[str | bytes] = [
    "Basic !!!", "Basic", "Basic QQ==", "Basic Og==", "Basic " + "A" * 4000, "Hawk",
    'Hawk id="x"', 'Hawk id="x", ts="1", nonce="n", mac="m"', 'Hawk id="", ts="", mac=""',
    'Hawk id="x", ts="99999999999999999999", nonce="n", mac="m"', 'Hawk ts="1", ts="2"',
    "BrowserID", "BrowserID a.b.c.d", "BrowserID x~y", "BrowserID ~", "BrowserID " + "a" * 5000,
    "Bearer x", "Token x", "hawk id=x", b"Hawk \xe9\xff", b"Basic \xc3\xa9",
]  # fmt: skip
AUTHS = [
    "guest", "guest", "guest", "registered", "registered", "participant", "none", "forged",
    "stale", "wrong-key", "tampered", "browserid",
]  # fmt: skip
EXTRA_HEADERS: list[tuple[tuple[str, str | bytes], ...]] = [
    (("Origin", "http://localhost:3000"),), (("Origin", "null"),), (("Origin", "x" * 3000),),
    (("Accept-Language", "x" * 5000),), (("Accept-Language", ",,;q=x, ;"),),
    (("Accept-Language", ""),), (("Host", ""),), (("Host", "a" * 3000),),
    (("Host", "evil.example:99999"),), (("Host", b"\xc3\xa9.example"),),
    (("Content-Length", "abc"),), (("Content-Length", "-1"),), (("Content-Length", "0"),),
    (("Content-Length", "99999999999999999999"),), (("Content-Length", "1, 2"),),
    (("Content-Encoding", "gzip"),), (("Transfer-Encoding", "chunked"),),
    (("X-Forwarded-For", "::::, 999.1.1.1"),), (("X-Forwarded-Proto", "javascript"),),
    (("User-Agent", "x" * 10_000),), (("Access-Control-Request-Method", "DELETE"),
    ("Access-Control-Request-Headers", "x" * 200)), (("X-Request-Id", "\u00e9".encode()),),
]  # fmt: skip
"""Each is one set of odd headers; most requests carry none."""
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
HOSTILE_TOKENS = [
    "..", "%2e%2e", "../rooms", "%2F", "%00", "%ff%fe", "a" * 5000, "é", "\U0001f4a9",
    "x%20y", "a;b", "~", "_-_-", "null", "undefined", "0", "-1", "AAAAAAAAAAAAAAAAAAAAAA",
    "..%2f..%2fpyproject.toml", "%252e",
]  # fmt: skip
QUERY_VALUES = [
    "", "0", "1", "-5", "abc", "1e3", "1.5", "99999999999999999999999", "%00", "%ff",
    "١٢", " 7", "0x10", "9223372036854775808",
]  # fmt: skip


def plans(
    targets: Sequence[Target],
    good: Mapping[str, st.SearchStrategy[Any]],
    queries: Sequence[str],
) -> st.SearchStrategy[Plan]:
    """One request to one of ``targets``; ``good`` gives a plausible value per field (so
    most requests get past validation into the domain), ``queries`` the endpoint's own
    query strings. Every strategy is built once, here: building them per draw costs more
    than the requests."""
    query = _query(list(queries))
    common = {
        "query": query,
        "content_type": st.sampled_from(CONTENT_TYPES),
        "accept": st.sampled_from(ACCEPTS),
        "auth": st.sampled_from(AUTHS),
        "forged": st.sampled_from(FORGED),
        "extra": st.one_of([st.just(())] * 4 + [st.sampled_from(EXTRA_HEADERS)]),
    }
    per_target = [
        st.builds(
            Plan,
            target=st.just(target),
            method=st.sampled_from([target.method] * 19 + METHODS),
            prefix_token=_token(target.endpoint.token),
            body=_body(target.endpoint.fields, dict(good)),
            **common,
        )
        for target in targets
    ]
    return st.one_of(per_target)


@functools.cache
def _token(kind: str | None) -> st.SearchStrategy[Ref | str | None]:
    if kind is None:
        return st.none()
    real = st.builds(Ref, st.just(kind), st.integers(0, 3))
    text = st.text(min_size=1, max_size=30).map(lambda t: quote(t, safe=""))
    return st.one_of(real, real, real, st.sampled_from(HOSTILE_TOKENS), text)


def _query(queries: list[str]) -> st.SearchStrategy[str]:
    odd = st.builds(
        lambda name, value: f"?{name}={value}",
        st.sampled_from(["version", "provider", "a", "", "version[]"]),
        st.sampled_from(QUERY_VALUES),
    )
    return st.one_of(st.just(""), st.just(""), st.sampled_from(queries or [""]), odd)


def _body(fields: tuple[str, ...], good: dict[str, st.SearchStrategy[Any]]) -> Any:
    known = list(fields) or ["a"]
    plain = _object(known, good)
    return st.one_of(
        plain,
        plain,
        plain,
        hostile(tuple(known)),
        st.sampled_from(RAW_BODIES),
        _spliced(known, plain),
    )


def _object(
    fields: list[str], good: dict[str, st.SearchStrategy[Any]]
) -> st.SearchStrategy[dict[str, Any]]:
    """An object of the endpoint's fields, each good (mostly) or hostile."""
    bad = hostile(tuple(fields))
    values = {
        key: st.one_of(good[key], good[key], good[key], bad) if key in good else bad
        for key in fields
    }

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        keys = draw(st.lists(st.sampled_from(fields), unique=True, max_size=len(fields)))
        return {key: draw(values[key]) for key in keys}

    return build()


def _spliced(fields: list[str], plain: st.SearchStrategy[dict[str, Any]]) -> Any:
    """An object of good values with one raw literal (lone surrogate, 2**64, 1e400…)
    spliced in, at the top or one level down: the bytes are sent as they are."""

    def splice(body: dict[str, Any], field: str, literal: str, nested: bool) -> bytes:
        text = json.dumps(body, default=str)  # refs become text: this body is raw anyway
        spliced = f'{{"{field}": {{"value": {literal}}}' if nested else f'{{"{field}": {literal}'
        return (spliced + ("," + text[1:] if len(text) > 2 else "}")).encode()

    return st.builds(
        splice, plain, st.sampled_from(fields), st.sampled_from(RAW_LITERALS), st.booleans()
    )
