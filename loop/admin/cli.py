"""The ``loop-server admin`` command line: arguments, settings, exit status and the one-line
errors (the commands themselves are in :mod:`.commands`)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Sequence
from urllib.parse import urlsplit, urlunsplit

from loop.admin import commands
from loop.admin.dump import BadDump
from loop.config import ConfigError, Settings, load_settings
from loop.services import Services
from loop.storage import BackendError, Storage, from_url, storage_kind

OK, FAILED, USAGE = 0, 1, 2


def main(argv: Sequence[str], *, prog: str = "loop-server admin") -> int:
    args = parser(prog).parse_args(argv)
    try:
        settings = load_settings(args.config)
        storage_kind(settings.storage_url)
    except (ConfigError, ValueError) as error:
        print(f"{prog}: configuration error: {error}", file=sys.stderr)
        return USAGE
    try:
        lines = asyncio.run(run(args, settings))
    except BackendError as error:
        reason = error.original if error.original is not None else error
        where = redacted(settings.storage_url)
        print(f"{prog}: storage unavailable at {where}: {one_line(reason)}", file=sys.stderr)
        return FAILED
    except BadDump as error:
        print(f"{prog}: {args.file}: {error}", file=sys.stderr)
        return FAILED
    except (commands.NotEmpty, OSError) as error:
        print(f"{prog}: {one_line(error)}", file=sys.stderr)
        return FAILED
    commands.write_lines(lines, sys.stdout)
    return OK


async def run(args: argparse.Namespace, settings: Settings) -> list[str]:
    try:
        storage = await from_url(settings.storage_url, timeout=settings.storage.timeout)
    except OSError as error:  # SQLite: the database's directory cannot be made
        raise BackendError(error) from error
    if args.command == "delete-user":
        services = await Services.open(settings, storage_backend=storage)
        try:
            return await commands.delete_user(services, args.identity)
        finally:
            await services.close()
    try:
        return await dispatch(args, settings, storage, now=time.time())
    finally:
        await storage.close()


async def dispatch(
    args: argparse.Namespace, settings: Settings, storage: Storage, *, now: float
) -> list[str]:
    if args.command == "stats":
        return await commands.stats(storage, now=now, as_json=args.json)
    if args.command == "purge":
        return await commands.purge(storage, now=now)
    if args.command == "export":
        backend = storage_kind(settings.storage_url)
        return await commands.export(storage, args.file, now=now, backend=backend)
    if args.command == "import":
        return await commands.import_(storage, args.file, now=now, force=args.force)
    return await commands.secrets_guidance(settings, storage, now=now)


def parser(prog: str) -> argparse.ArgumentParser:
    config = argparse.ArgumentParser(add_help=False)
    config.add_argument(
        "--config",
        metavar="FILE",
        default=os.environ.get("LOOP_CONFIG"),
        help="the server's TOML configuration (default: $LOOP_CONFIG, if set)",
    )
    top = argparse.ArgumentParser(
        prog=prog,
        parents=[config],
        description="Operator commands on the storage the settings name. Exit status: "
        "0 done, 1 failed, 2 usage or configuration error.",
    )
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    stats = sub.add_parser("stats", help="count live records, measure the storage")
    stats.add_argument("--json", action="store_true", help="one JSON object, for machines")
    sub.add_parser("purge", help="remove expired data and stale index entries now")
    export = sub.add_parser("export", help="dump every live record and the secrets")
    export.add_argument("file", metavar="FILE", help="where to write the dump (- for stdout)")
    load = sub.add_parser("import", help="load a dump (from export) into this storage")
    load.add_argument("file", metavar="FILE", help="the dump to read (- for stdin)")
    load.add_argument("--force", action="store_true", help="import into a non-empty store")
    delete = sub.add_parser("delete-user", help="delete all data of one user (DELETE /account)")
    delete.add_argument("identity", metavar="IDENTITY", help="the user's e-mail or phone number")
    sub.add_parser("secrets", help="which secrets exist and how to rotate them")
    for command in sub.choices.values():
        command.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS, help=None)
    return top


def redacted(url: str) -> str:
    """The storage URL without its password (``redis://:secret@host`` is common)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))


def one_line(error: object) -> str:
    return " ".join(str(error).split()) or type(error).__name__
