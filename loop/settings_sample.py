"""The sample configuration and the README's settings table, written from the settings
dataclasses themselves.

The dataclasses are the one source: each field's default is its type's default, each
field's documentation is the string literal under it (an attribute docstring, which Python
keeps only in the source, hence :mod:`ast`). ``loop.sample.toml``, the gateway's
``msisdn.sample.toml`` and the README table are generated from them, and a test fails
when a checked-in copy drifts, so a new setting cannot ship undocumented.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import json
import re
import textwrap
import typing
from collections.abc import Iterator
from typing import Any

WIDTH = 92
"""Comment lines wrap here, the width of the rest of the project's text."""


@dataclasses.dataclass(frozen=True, slots=True)
class SettingDoc:
    """One leaf setting: its dotted key, default and documentation."""

    key: str
    default: Any
    doc: str


def sample_toml(settings_type: type[Any], *, header: str) -> str:
    """A TOML file setting every key to its default, each with its documentation as
    comments; ``header`` (plain text) opens the file."""
    lines = [_comment(header)]
    lines.extend(_section_lines(settings_type, ""))
    return "\n".join(lines).rstrip("\n") + "\n"


def _section_lines(section_type: type[Any], name: str) -> Iterator[str]:
    """A table's keys, then its sub-tables (TOML needs a table's own keys first)."""
    yield ""
    if name:
        doc = section_type.__doc__ or ""
        if doc and not doc.startswith(section_type.__name__ + "("):  # not dataclass's stub
            yield _comment(_plain(inspect.cleandoc(doc)))
        yield f"[{name}]"
    docs = field_docs(section_type)
    nested: list[tuple[str, type[Any]]] = []
    for field in dataclasses.fields(section_type):
        sub_type = _dataclass_type(section_type, field)
        if sub_type is not None:
            nested.append((f"{name}.{field.name}" if name else field.name, sub_type))
            continue
        field_doc = docs.get(field.name)
        if field_doc:
            yield _comment(_plain(field_doc))
        yield f"{field.name} = {toml_value(_default(field))}"
    for sub_name, sub_type in nested:
        yield from _section_lines(sub_type, sub_name)


def settings_table(settings_type: type[Any]) -> str:
    """A Markdown table: setting, default, meaning; one row per leaf setting."""
    rows = ["| setting | default | meaning |", "| --- | --- | --- |"]
    for setting in walk(settings_type):
        meaning = " ".join(_plain(setting.doc).split()).replace("|", "\\|")
        rows.append(f"| `{setting.key}` | `{toml_value(setting.default)}` | {meaning} |")
    return "\n".join(rows) + "\n"


def walk(settings_type: type[Any], prefix: str = "") -> Iterator[SettingDoc]:
    """Every leaf setting, depth first, in declaration order."""
    docs = field_docs(settings_type)
    for field in dataclasses.fields(settings_type):
        nested = _dataclass_type(settings_type, field)
        if nested is not None:
            yield from walk(nested, f"{prefix}{field.name}.")
        else:
            yield SettingDoc(f"{prefix}{field.name}", _default(field), docs.get(field.name, ""))


def field_docs(settings_type: type[Any]) -> dict[str, str]:
    """``{field: docstring}`` for the fields documented by a string literal under them."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(settings_type)))
    body = tree.body[0].body if isinstance(tree.body[0], ast.ClassDef) else []
    docs: dict[str, str] = {}
    for statement, following in zip(body, body[1:], strict=False):
        if (
            isinstance(statement, ast.AnnAssign)
            and isinstance(statement.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docs[statement.target.id] = inspect.cleandoc(following.value.value)
    return docs


def toml_value(value: Any) -> str:
    """A default as TOML writes it (JSON's strings, arrays and numbers are TOML's too)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        inner = ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items())
        return f"{{ {inner} }}" if inner else "{}"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    return json.dumps(str(value) if isinstance(value, str) else value)


def _default(field: dataclasses.Field[Any]) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    raise TypeError(f"setting {field.name} has no default")


def _dataclass_type(owner: type[Any], field: dataclasses.Field[Any]) -> type[Any] | None:
    candidate = typing.get_type_hints(owner).get(field.name)
    return (
        candidate if isinstance(candidate, type) and dataclasses.is_dataclass(candidate) else None
    )


_LITERAL = re.compile(r"``([^`]+)``")
_ROLE = re.compile(r":[a-z]+:`~?([^`]+)`")


def _plain(text: str) -> str:
    """reStructuredText markup (``literal``, :role:`target`) as plain backquoted text."""
    return _LITERAL.sub(r"`\1`", _ROLE.sub(r"`\1`", text))


def _comment(text: str) -> str:
    """``text`` as ``#`` comment lines wrapped at :data:`WIDTH`, keeping its paragraphs."""
    lines: list[str] = []
    for paragraph in text.split("\n\n"):
        wrapped = textwrap.wrap(" ".join(paragraph.split()), WIDTH - 2) or [""]
        lines.extend(f"# {line}".rstrip() for line in wrapped)
        lines.append("#")
    return "\n".join(lines[:-1])


README_START = "<!-- settings table: written by scripts/settings-docs -->"
README_END = "<!-- end of settings table -->"


def with_readme_table(readme: str, table: str) -> str:
    """``readme`` with the text between its two table markers replaced by ``table``."""
    head, found, rest = readme.partition(README_START)
    _, found_end, tail = rest.partition(README_END)
    if not (found and found_end):
        raise ValueError("README has no settings-table markers")
    return f"{head}{README_START}\n{table}{README_END}{tail}"
