"""The dump file: what ``admin export`` writes and ``admin import`` reads.

JSON lines, UTF-8: a header, one line per record (:mod:`loop.storage.admin` lists the
kinds), and a trailer with the record count, so a truncated copy is refused rather than
half-imported::

    {"format":"loop-server-dump","version":1,"exported_at":1764892800.0,"backend":"sqlite"}
    {"kind":"secret","name":"hawk_id_secret","value":"…"}
    …
    {"end":true,"records":1234}

The records are backend-neutral, so a dump of one backend imports into the other. The
``version`` changes when a record's shape does; this server reads only its own.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from loop.jsonutil import canonical, loads
from loop.storage.admin import InvalidRecord, Record, check_record

FORMAT = "loop-server-dump"
VERSION = 1


class BadDump(Exception):
    """The file is not a complete dump this server can read; says where and why."""


def header(*, exported_at: float, backend: str) -> dict[str, Any]:
    return {"format": FORMAT, "version": VERSION, "exported_at": exported_at, "backend": backend}


def line(value: Any) -> str:
    return canonical(value) + "\n"


def trailer(count: int) -> dict[str, Any]:
    return {"end": True, "records": count}


@contextlib.contextmanager
def writing(path: str) -> Iterator[IO[str]]:
    """``path`` written whole or not at all (a temporary file renamed at the end); ``-``
    is standard output."""
    if path == "-":
        yield sys.stdout
        return
    target = Path(path)
    partial = target.with_name(f".{target.name}.partial")
    try:
        with open(partial, "w", encoding="utf-8") as out:
            yield out
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


@contextlib.contextmanager
def reading(path: str) -> Iterator[IO[str]]:
    if path == "-":
        yield sys.stdin
        return
    try:
        source = open(path, encoding="utf-8")  # noqa: SIM115 (closed below)
    except OSError as error:
        raise BadDump(f"cannot read {path}: {error.strerror}") from error
    with source:
        yield source


def records(source: IO[str]) -> Iterator[Record]:
    """Every record of a dump, checked; :class:`BadDump` on the first problem (the header,
    a line, the trailer or its absence)."""
    try:
        yield from _records(source)
    except UnicodeDecodeError as error:
        raise BadDump(f"not UTF-8 text ({error.reason})") from error


def _records(source: IO[str]) -> Iterator[Record]:
    lines = enumerate(source, start=1)
    first = next(lines, None)
    if first is None:
        raise BadDump("empty file: not a loop-server dump")
    _check_header(_parse(*first))
    count = 0
    for number, text in lines:
        value = _parse(number, text)
        if isinstance(value, dict) and value.get("end") is True:
            if value != trailer(count):
                counted = value.get("records")
                raise BadDump(f"line {number}: the trailer counts {counted!r}, not {count}")
            if next(lines, None) is not None:
                raise BadDump(f"line {number + 1}: data after the trailer")
            return
        try:
            yield check_record(value)
        except InvalidRecord as error:
            raise BadDump(f"line {number}: {error}") from error
        count += 1
    raise BadDump(f"truncated: no trailer after {count} records")


def _parse(number: int, text: str) -> Any:
    try:
        return loads(text)
    except ValueError as error:  # the decoder's own, MalformedJson, RefusedValue
        raise BadDump(f"line {number}: not JSON ({error})") from error


def _check_header(value: Any) -> None:
    if not isinstance(value, dict) or value.get("format") != FORMAT:
        raise BadDump("line 1: not a loop-server dump (no header)")
    if value.get("version") != VERSION:
        raise BadDump(
            f"line 1: dump version {value.get('version')!r}; this server reads version {VERSION}"
        )
