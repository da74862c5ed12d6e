"""Hypothesis strategies for hostile requests: bodies, paths, queries, headers, credentials.

A drawn :class:`Plan` is pure data: credentials, tokens and identities are named by a
:class:`Ref` and resolved when the request is sent (against the rooms, sessions and links
the fuzz run made), so the same seed draws the same plans on every run and backend.
"""

from __future__ import annotations

import dataclasses
import functools
import random
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import quote

from hypothesis import strategies as st

from tests.fuzz.routes import Target

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Ref:
    """Something of the fuzz run's world, resolved when the request is sent: ``room``,
    ``call``, ``identity``, ``push`` (a SimplePush URL), ``state`` (the OAuth state)…"""

    kind: str
    index: int = 0


OMIT = Ref("omit")
"""A good value that is no value: the field is left out of the body."""


@dataclasses.dataclass(frozen=True)
class Spliced:
    """A body ``{"<field>": <literal>, ...body}`` (or ``{"<field>": {"value": <literal>}}``
    when ``nested``): JSON text a Python value cannot express after ``dumps``."""

    body: dict[str, Any]
    field: str
    literal: str
    nested: bool

    def text(self, rest: str) -> bytes:
        """The bytes, ``rest`` being the body's JSON once its refs are resolved."""
        value = f'{{"value": {self.literal}}}' if self.nested else self.literal
        tail = "," + rest[1:] if len(rest) > 2 else "}"
        return f'{{"{self.field}": {value}{tail}'.encode()


@dataclasses.dataclass(frozen=True)
class Form:
    """A body sent urlencoded (``application/x-www-form-urlencoded``), as the API also
    reads them: every value becomes text."""

    body: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Plan:
    """One request as drawn: everything but what only the fuzz run's world knows."""

    target: Target
    method: str
    path_token: Ref | str | None
    """What fills ``{token}``/``{path}``: a real one (:class:`Ref`) or hostile text."""
    query: str
    body: Any
    """A JSON value (with :class:`Ref` inside), a :class:`Spliced` or :class:`Form` one,
    or ``bytes`` sent as they are."""
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


def pick(values: Sequence[T]) -> st.SearchStrategy[T]:
    """``sampled_from`` without its repr: the lists hold 100 kB values, and Hypothesis
    would print them all when it describes the strategy."""
    return st.integers(0, len(values) - 1).map(values.__getitem__)


LEAF = pick(SCALARS) | st.integers() | st.floats(allow_nan=False) | st.text(max_size=24)
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
    *["application/json"] * 7,
    "application/json; charset=utf-8", "application/x-www-form-urlencoded", "text/plain",
    "application/json; charset=latin-1", "multipart/form-data; boundary=x", "", None,
]  # fmt: skip
ACCEPTS = [None] * 8 + [
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
    *["guest"] * 3, *["registered"] * 3, "participant", "none", "forged", "stale",
    "wrong-key", "tampered", "browserid",
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
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
HOSTILE_TOKENS = [
    "..", "%2e%2e", "../rooms", "%2F", "%00", "%ff%fe", "a" * 5000, "é", "\U0001f4a9",
    "x%20y", "a;b", "~", "_-_-", "null", "undefined", "0", "-1", "AAAAAAAAAAAAAAAAAAAAAA",
    "..%2f..%2fpyproject.toml", "%252e",
]  # fmt: skip
QUERY_VALUES = [
    "", "0", "1", "-5", "abc", "1e3", "1.5", "99999999999999999999999", "%00", "%ff",
    "١٢", " 7", "0x10", "9223372036854775808", "9" * 5000, "http://%ff%fe", "1&version=2",
    "http" + "x" * 5000, "%e9", "\u00e9",
]  # fmt: skip


def rounds(
    targets: Sequence[Target],
    good: Mapping[str, st.SearchStrategy[Any]],
    queries: Sequence[str],
) -> st.SearchStrategy[list[Plan]]:
    """One request to each of ``targets``, in a random order: every route gets the same
    share (Hypothesis would favour the first of a ``sampled_from``). Half the requests
    are clean but for their body and path (signed JSON, no odd header), so they reach the
    domain; the other half are hostile throughout. ``good`` gives a
    plausible value per field (so most requests get past validation into the domain),
    ``queries`` the app's own query strings. Every strategy is built once, here: building
    them per draw costs more than the requests."""
    query = _query(list(queries))
    wild = {
        "query": query,
        "content_type": st.sampled_from(CONTENT_TYPES),
        "accept": st.sampled_from(ACCEPTS),
        "auth": st.sampled_from(AUTHS),
        "forged": pick(FORGED),
        "extra": st.one_of([st.just(())] * 3 + [pick(EXTRA_HEADERS)]),
    }
    clean = wild | {
        "content_type": st.just("application/json"),
        "accept": st.none(),
        "auth": st.sampled_from(["guest", "registered", "registered", "participant"]),
        "extra": st.just(()),
    }
    per_target = [
        st.one_of(
            st.builds(
                Plan,
                target=st.just(target),
                method=st.just(target.method),
                path_token=_token(target.endpoint.token),
                body=_body(target.endpoint.fields, dict(good)),
                **clean,
            ),
            st.builds(
                Plan,
                target=st.just(target),
                method=st.sampled_from([target.method] * 9 + METHODS),
                path_token=_token(target.endpoint.token),
                body=_body(target.endpoint.fields, dict(good)),
                **wild,
            ),
        )
        for target in targets
    ]
    return st.tuples(st.tuples(*per_target), st.randoms(use_true_random=False)).map(_shuffled)


def _shuffled(drawn: tuple[tuple[Plan, ...], random.Random]) -> list[Plan]:
    batch, rng = list(drawn[0]), drawn[1]
    rng.shuffle(batch)
    return batch


@functools.cache
def _token(kind: str | None) -> st.SearchStrategy[Ref | str | None]:
    if kind is None:
        return st.none()
    real = st.builds(Ref, st.just(kind), st.integers(0, 3))
    text = st.text(min_size=1, max_size=30).map(lambda t: quote(t, safe=""))
    return st.one_of(real, real, real, real, pick(HOSTILE_TOKENS), text)


def _query(queries: list[str]) -> st.SearchStrategy[str]:
    odd = st.builds(
        lambda name, value: f"?{name}={value}",
        st.sampled_from(["version", "provider", "simplePushURL", "a", "", "version[]"]),
        pick(QUERY_VALUES),
    )
    return st.one_of(st.just(""), st.just(""), st.sampled_from(queries or [""]), odd)


def _body(fields: tuple[str, ...], good: dict[str, st.SearchStrategy[Any]]) -> Any:
    """Mostly objects of the endpoint's fields (two in three: every field, so requests
    get through to the domain), else hostile JSON, raw bytes, or a spliced literal."""
    known = list(fields) or ["a"]
    full, some = _objects(known, good)
    return st.one_of(
        [full] * 4
        + [some] * 2
        + [hostile(tuple(known)), pick(RAW_BODIES)]
        + [_spliced(known, full), st.builds(Form, full)]
    )


def _objects(
    fields: list[str], good: dict[str, st.SearchStrategy[Any]]
) -> tuple[st.SearchStrategy[dict[str, Any]], st.SearchStrategy[dict[str, Any]]]:
    """Objects of the endpoint's fields, each value good (mostly) or hostile: one with
    every field (but one, at times, hostile or left out), one with a random subset."""
    bad = hostile(tuple(fields))
    values = {
        key: st.one_of(good[key], good[key], good[key], bad) if key in good else bad
        for key in fields
    }
    fine = {key: good.get(key, bad) for key in fields}

    @st.composite
    def full(draw: st.DrawFn) -> dict[str, Any]:
        body = {key: draw(fine[key]) for key in fields}
        body = {key: value for key, value in body.items() if value != OMIT}
        spoilt = draw(st.sampled_from([None, None, *fields]))
        if spoilt is not None:
            if draw(st.booleans()):
                body[spoilt] = draw(bad)
            else:
                body.pop(spoilt, None)
        return body

    @st.composite
    def some(draw: st.DrawFn) -> dict[str, Any]:
        keys = draw(st.lists(st.sampled_from(fields), unique=True, max_size=len(fields)))
        body = {key: draw(values[key]) for key in keys}
        return {key: value for key, value in body.items() if value != OMIT}

    return full(), some()


def _spliced(fields: list[str], plain: st.SearchStrategy[dict[str, Any]]) -> Any:
    """An object of good values with one raw literal (lone surrogate, 2**64, 1e400…)
    spliced in, at the top or one level down."""
    return st.builds(Spliced, plain, st.sampled_from(fields), pick(RAW_LITERALS), st.booleans())
