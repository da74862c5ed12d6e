"""What each ``loop-server admin`` command does, on an open storage.

Each command returns its report as lines of text (or a JSON document for ``--json``); the
CLI prints them. Long work (exports, imports) shows a progress bar on a terminal's stderr
and nothing otherwise, so scripts and cron see only the report.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from typing import IO, Any

from tqdm import tqdm

from loop.admin import dump
from loop.config import Settings
from loop.identity import delete_account, user_mac
from loop.services import Services
from loop.storage import Session, Storage
from loop.storage.admin import Record, StoreFigures

IMPORT_BATCH = 500
"""Records written per storage call during an import."""


def progress(label: str, total: int | None = None) -> tqdm[Any]:
    """A bar on stderr when a person watches it; silent otherwise (cron, pipes, tests)."""
    return tqdm(
        total=total,
        desc=label,
        unit=" records",
        file=sys.stderr,
        disable=not sys.stderr.isatty(),
        leave=False,
    )


# -- stats ---------------------------------------------------------------------------------

FIGURE_LABELS = {
    "users": "users (identities with a live session)",
    "sessions": "sessions",
    "rooms": "rooms",
    "participants": "participants in rooms now",
    "calls": "calls",
    "call_urls": "call URLs",
    "push_registrations": "push registrations",
}


async def stats(storage: Storage, *, now: float, as_json: bool) -> list[str]:
    figures = await storage.figures(now=now)
    if as_json:
        return [json.dumps(dataclasses.asdict(figures), sort_keys=True)]
    return describe(figures)


def describe(figures: StoreFigures) -> list[str]:
    width = max(len(label) for label in FIGURE_LABELS.values())
    lines = [
        f"{label:<{width}}  {getattr(figures, name)}" for name, label in FIGURE_LABELS.items()
    ]
    size = f"{figures.size_bytes} bytes ({human_size(figures.size_bytes)})"
    if figures.backend == "sqlite":
        lines.append(f"{'storage (SQLite files)':<{width}}  {size}")
    else:
        lines.append(f"{'storage (Redis used_memory)':<{width}}  {size}")
        lines.append(f"{'Redis keys':<{width}}  {figures.keys}")
    return lines


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


# -- purge ---------------------------------------------------------------------------------


async def purge(storage: Storage, *, now: float) -> list[str]:
    removed = await storage.purge_expired(now=now)
    if not removed:
        return ["nothing expired to remove"]
    return [f"removed {count} {name}" for name, count in removed.items()]


# -- export and import ---------------------------------------------------------------------


async def export(storage: Storage, path: str, *, now: float, backend: str) -> list[str]:
    count = 0
    with dump.writing(path) as out, progress("export") as bar:
        out.write(dump.line(dump.header(exported_at=now, backend=backend)))
        async for record in storage.export_records(now=now):
            out.write(dump.line(record))
            count += 1
            bar.update()
        out.write(dump.line(dump.trailer(count)))
    return [f"exported {count} records to {path}"] if path != "-" else []


class NotEmpty(Exception):
    """The target store holds data and ``--force`` was not given."""


async def import_(storage: Storage, path: str, *, now: float, force: bool) -> list[str]:
    """Checks the whole file before writing anything, so a bad dump changes nothing."""
    with dump.reading(path) as source:
        checked = list(dump.records(source))
    if not force and await storage.holds_data(now=now):
        raise NotEmpty("the store already holds data; import into an empty one, or --force")
    with progress("import", total=len(checked)) as bar:
        for batch in batched(checked):
            await storage.import_records(batch, now=now)
            bar.update(len(batch))
    kinds: dict[str, int] = {}
    for record in checked:
        kinds[record["kind"]] = kinds.get(record["kind"], 0) + 1
    summary = ", ".join(f"{count} {kind}" for kind, count in kinds.items()) or "nothing"
    return [f"imported {len(checked)} records from {path} ({summary})"]


def batched(records: list[Record]) -> Iterator[list[Record]]:
    for start in range(0, len(records), IMPORT_BATCH):
        yield records[start : start + IMPORT_BATCH]


# -- delete-user ---------------------------------------------------------------------------


async def delete_user(services: Services, identity: str) -> list[str]:
    """DELETE /account on the identity's behalf (decisions D13): the same storage operation,
    found by the identity's MAC rather than a session. No device is the caller's, so the
    device given is one no session has (an empty id)."""
    now = services.clock.now()
    before = await services.storage.figures(now=now)
    owner = Session(hawk_id_hmac="", hawk_key="", user_mac=user_mac(services.settings, identity))
    await delete_account(services, owner)
    after = await services.storage.figures(now=services.clock.now())
    changes = [
        f"{before_count - getattr(after, name)} {label}"
        for name, label in FIGURE_LABELS.items()
        if (before_count := getattr(before, name)) != getattr(after, name) and name != "users"
    ]
    if not changes:
        return ["no data was filed under that identity"]
    return ["deleted the user's data: " + ", ".join(changes)]


# -- secrets -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class SecretInfo:
    setting: str
    stored_as: str | None
    """The name the storage keeps it under when generated; ``None``: configured only."""
    breaks: str


SECRETS = (
    SecretInfo(
        "hawk_id_secret",
        "hawk_id_secret",
        "every Hawk session: sessions are stored under an HMAC of their id, so all clients "
        "get 401 and must register again (Firefox does so by itself, signed-in users must "
        "sign in again).",
    ),
    SecretInfo(
        "user_mac_secret",
        "user_mac_secret",
        "every signed-in user's data: rooms, call URLs, calls and push registrations are "
        "filed under an HMAC of the identity, so users find nothing of theirs. Export first "
        "if you must; the old data is only reachable with the old secret.",
    ),
    SecretInfo(
        "rooms.hkdf_salt",
        "hkdf_salt",
        "the encrypted account names of signed-in participants shown to room owners; "
        "they come back as members rejoin.",
    ),
    SecretInfo(
        "webrtc.token_secret",
        "webrtc_token_secret",
        "the signalling tokens handed out at join: members in rooms now must rejoin "
        "(the room page does this on its own).",
    ),
    SecretInfo(
        "push.vapid_private_key",
        "vapid_private_key",
        "every Web Push subscription (bound to the VAPID public key): browsers must "
        "subscribe again before they get notifications.",
    ),
    SecretInfo(
        "webrtc.turn_secret",
        None,
        "TURN credentials: change it in coturn (static-auth-secret) and here together; "
        "credentials already handed out fail once either side changes.",
    ),
    SecretInfo(
        "fxa_oauth.client_secret",
        None,
        "FxA sign-in: issued by Firefox Accounts for your client id; rotate it there first.",
    ),
)


async def secrets_guidance(settings: Settings, storage: Storage, *, now: float) -> list[str]:
    """Which secrets exist, where each comes from, and what changing it breaks. Values are
    never printed, only whether one is set."""
    stored = await stored_secret_names(storage, now=now)
    lines = [
        *wrap(
            "Secrets (values are never shown). Generated ones are made on first start and "
            "kept in the storage, shared by every process; configure one to override it."
        ),
        "",
    ]
    for info in SECRETS:
        lines.append(f"{info.setting}: {origin(settings, info, stored)}")
        lines += wrap(f"changing it breaks {info.breaks}", indent="    ")
    lines += [
        "",
        *wrap(
            "To rotate a generated secret: set the new value in the configuration (or "
            "LOOP_* variables) of every process and restart them all; the configured value "
            "wins over the stored one. A migration (admin export / import) carries the "
            "generated secrets with it, so nothing breaks when moving between SQLite and "
            "Redis."
        ),
    ]
    return lines


def wrap(text: str, *, indent: str = "") -> list[str]:
    return textwrap.wrap(text, width=88, initial_indent=indent, subsequent_indent=indent)


def origin(settings: Settings, info: SecretInfo, stored: set[str]) -> str:
    if configured_value(settings, info.setting):
        return "configured"
    if info.stored_as is None:
        return "not set"
    if info.stored_as in stored:
        return "generated (kept by the storage)"
    return "not generated yet (made on the server's first start)"


def configured_value(settings: Settings, dotted: str) -> str:
    value: Any = settings
    for part in dotted.split("."):
        value = getattr(value, part)
    return str(value)


async def stored_secret_names(storage: Storage, *, now: float) -> set[str]:
    """The names of the stored secrets: the dump's first records, read until another kind."""
    names: set[str] = set()
    records: AsyncIterator[Record] = storage.export_records(now=now)
    try:
        async for record in records:
            if record["kind"] != "secret":
                break
            names.add(record["name"])
    finally:
        await records.aclose()  # type: ignore[attr-defined]
    return names


def write_lines(lines: list[str], out: IO[str]) -> None:
    for text in lines:
        print(text, file=out)
