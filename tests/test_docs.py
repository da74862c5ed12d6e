"""Every spec citation in the code resolves to a heading in ``docs/``.

Docstrings and comments cite ``loop-api.md §4.12``, ``msisdn-and-auth.md §1.5``,
``client-usage.md §5``, ``decisions §6`` and decision numbers ``D1``…``D32``. A bare ``§n``
continues the citation before it (``loop-api.md §4.12, §5.6``); on its own it points into
the file's main document: the first one the file names, else ``msisdn-and-auth.md`` for
the gateway and BrowserID code and ``loop-api.md`` for the rest. ``RFC nnnn §x`` is
someone else's document and is left alone.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SCANNED = ("loop", "tests")
SUFFIXES = {".py", ".dot", ".lua", ".toml", ".md"}
SPEC_FILES = ("loop-api.md", "msisdn-and-auth.md", "client-usage.md", "decisions.md")

NUMBER = r"\d+(?:\.\d+)*"
TOKEN = re.compile(
    rf"(?P<doc>loop-api|msisdn-and-auth|client-usage|decisions)\.md"
    rf"|(?P<decisions>\bdecisions\b)"
    rf"|(?P<rfc>\bRFC\s*\d+)"
    rf"|§(?P<section>{NUMBER})(?:-§?(?P<until>{NUMBER}))?"
    rf"|\b(?P<decision>D\d{{1,2}})\b"
)
CHAIN_GAP = re.compile(r"(?:[\s`'\",;:()\-–/]|\band\b|\bstep\s+\d+|\bitem\s+\d+|\bD\d{1,2}\b)*")
"""What may stand between the citations of one chain: punctuation, "and", a step or item
number, decision numbers (``decisions D4, D15, §6``)."""

FOREIGN = ""
"""The chain's document is someone else's (an RFC): its sections are not checked here."""

HEADING = re.compile(rf"^#{{1,6}}\s+(?:§\s*)?(?P<number>{NUMBER}|D\d{{1,2}})\.?(?:\s|$)")


@dataclasses.dataclass(frozen=True)
class Citation:
    source: str
    line: int
    document: str
    anchor: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.document} {self.anchor}"


def _sources() -> Iterator[Path]:
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*")):
            if path.suffix in SUFFIXES and path.is_file() and path != Path(__file__).resolve():
                yield path


def _default_document(path: Path, text: str) -> str:
    """Where a bare ``§n`` that continues no citation points."""
    named = re.search(r"(loop-api|msisdn-and-auth|client-usage)\.md", text)
    if named:
        return named.group(0)
    parts = set(path.relative_to(ROOT).parts)
    return "msisdn-and-auth.md" if parts & {"msisdn", "browserid"} else "loop-api.md"


def citations_in(path: Path) -> Iterator[Citation]:
    text = path.read_text(encoding="utf-8")
    source = str(path.relative_to(ROOT))
    return parse(text, source, _default_document(path, text))


def parse(text: str, source: str, default: str) -> Iterator[Citation]:
    """The citations in ``text``, bare sections resolved against ``default``."""
    chain: str | None = None  # the document the current chain of citations points into
    chain_end = 0  # where its last citation ended
    for match in TOKEN.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        linked = CHAIN_GAP.fullmatch(text, chain_end, match.start()) is not None
        chain_end = match.end()
        if match["doc"] or match["decisions"]:
            chain = f"{match['doc'] or 'decisions'}.md"
        elif match["rfc"]:
            chain = FOREIGN
        elif match["decision"]:
            yield Citation(source, line, "decisions.md", match["decision"])
        else:
            if chain is None or not linked:
                chain = default
            if chain != FOREIGN:
                for anchor in _span(match["section"], match["until"]):
                    yield Citation(source, line, chain, anchor)


def _span(first: str, last: str | None) -> list[str]:
    """The sections a range cites: ``5.5-5.7`` is 5.5, 5.6 and 5.7."""
    if last is None:
        return [first]
    head, tail = first.split("."), last.split(".")
    if head[:-1] != tail[:-1] or int(head[-1]) > int(tail[-1]):
        return [first, last]
    prefix = head[:-1]
    return [".".join([*prefix, str(n)]) for n in range(int(head[-1]), int(tail[-1]) + 1)]


def headings(document: str) -> set[str]:
    lines = (DOCS / document).read_text(encoding="utf-8").splitlines()
    return {m["number"] for m in map(HEADING.match, lines) if m}


ALL_CITATIONS = [c for path in _sources() for c in citations_in(path)]


def test_the_citations_are_found() -> None:
    """The scanner sees the code's citations (about 110 to the spec files, many more to D*)."""
    by_document = {c.document for c in ALL_CITATIONS}
    assert by_document == set(SPEC_FILES)
    assert len([c for c in ALL_CITATIONS if c.document != "decisions.md"]) > 100


@pytest.mark.parametrize("document", SPEC_FILES)
def test_every_citation_has_a_heading(document: str) -> None:
    assert (DOCS / document).is_file()
    known = headings(document)
    dangling = [str(c) for c in ALL_CITATIONS if c.document == document and c.anchor not in known]
    assert dangling == []


def test_every_decision_has_its_own_heading() -> None:
    """D1…D34 are numbered without gaps, each under its own heading."""
    known = {n for n in headings("decisions.md") if n.startswith("D")}
    assert known == {f"D{n}" for n in range(1, 35)}


def test_the_index_lists_every_document() -> None:
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    assert [name for name in SPEC_FILES if f"({name})" not in index] == []
    assert "docs/README.md" in (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(loop-api.md §4.12, §5.6; decisions D4)", ["loop-api.md 4.12", "loop-api.md 5.6"]),
        ("(msisdn-and-auth.md §1.5, §2.2)", ["msisdn-and-auth.md 1.5", "msisdn-and-auth.md 2.2"]),
        ("(loop-api.md §3.3, decisions D4, D15, §6)", ["loop-api.md 3.3", "decisions.md 6"]),
        ("(client-usage.md §5 item 6), and later §3.1", ["client-usage.md 5", "main.md 3.1"]),
        ("(§5.2-5.4; decisions D3, D7)", ["main.md 5.2", "main.md 5.3", "main.md 5.4"]),
        (
            "(loop-api.md §1-§2, §3.7-§4.1)",
            ["loop-api.md 1", "loop-api.md 2", "loop-api.md 3.7", "loop-api.md 4.1"],
        ),
        ("(§3.7-§3.8)", ["main.md 3.7", "main.md 3.8"]),
        ("a date (RFC 9110\n    §10.2.3); RFC 8030 §7.3. Then (§3.1 step 8)", ["main.md 3.1"]),
    ],
)
def test_citation_parsing(text: str, expected: list[str]) -> None:
    """How chains, ranges, RFCs and the file's main document resolve."""
    found = [c for c in parse(text, "example.py", "main.md") if not c.anchor.startswith("D")]
    assert [f"{c.document} {c.anchor}" for c in found] == expected


def test_decision_numbers_are_citations() -> None:
    found = list(parse("seats (§5.3), number parsing (D2, D5)", "example.py", "main.md"))
    assert [f"{c.document} {c.anchor}" for c in found] == [
        "main.md 5.3",
        "decisions.md D2",
        "decisions.md D5",
    ]
