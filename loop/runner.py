"""The one console runner behind ``loop-server`` and ``loop-msisdn``.

Both commands do the same: settings from defaults < ``--config FILE`` (default: an
environment variable) < environment variables; ``--check`` validates and exits;
``--sample-config`` prints every setting with its default and meaning; ``--version``
prints the package's; a configuration error is one line on stderr and exit status 2;
otherwise logging is set up and uvicorn serves the app, guarded against slow and surplus
clients, until SIGTERM or SIGINT drains it (exit status 0; ``loop.web.server``). A
start-up failure (storage unreachable...) is one line on stderr naming the setting and the
cause, and exit status 3 (uvicorn's), never a traceback. Only the names, the settings
loader and the app differ.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.metadata
import math
import os
import socket
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import uvicorn
from uvicorn.config import STARTUP_FAILURE

from loop.config import ConfigError, LoggingSettings, ServerSettings, server_checks
from loop.logging import LOGGER_NAME, configure_logging
from loop.settings_sample import sample_toml
from loop.web.server import (
    ConnectionLimits,
    DrainingServer,
    derived_connection_cap,
    protocol_class,
)
from loop.web.startup import StartupError, StartupGuard
from loop.web.workers import run_workers

SettingsT = TypeVar("SettingsT")

CONFIG_ERROR_STATUS = 2
PACKAGE = "loop-server"
STARTUP_ERROR_STATUS = 3

DRAIN_GRACE = 1
"""Seconds app tasks get, once the drain cut their connections, before uvicorn cancels
them (a route finishing a storage call after its client went)."""


def run(
    argv: Sequence[str] | None,
    *,
    prog: str,
    description: str,
    config_variable: str,
    settings_type: type[SettingsT],
    sample_header: str,
    load: Callable[[str | None], SettingsT],
    serve: Callable[[SettingsT], None],
) -> int:
    """Parse ``argv``, load the settings, then ``--check`` or ``serve``; the exit status."""
    args = _parse_args(argv, prog=prog, description=description, config_variable=config_variable)
    if args.version:
        print(f"{prog} {package_version()}")
        return 0
    if args.sample_config:
        print(sample_toml(settings_type, header=sample_header), end="")
        return 0
    try:
        settings = load(args.config)
        if args.workers is not None:
            settings = with_workers(settings, args.workers)
    except ConfigError as exc:
        print(f"{prog}: configuration error: {exc}", file=sys.stderr)
        return CONFIG_ERROR_STATUS
    if args.check:
        print(f"{prog}: configuration is valid")
        return 0
    try:
        serve(settings)
    except ConfigError as exc:  # settings checked only at start-up (against the storage...)
        print(f"{prog}: configuration error: {exc}", file=sys.stderr)
        return CONFIG_ERROR_STATUS
    except StartupError as exc:
        print(f"{prog}: start-up error: {exc}", file=sys.stderr)
        return STARTUP_ERROR_STATUS
    return 0


def serve_app(
    build: Callable[[], Any],
    *,
    host: str,
    port: int,
    data_dir: str,
    storage_url: str,
    logging_settings: LoggingSettings,
    logger_name: str = LOGGER_NAME,
    server_settings: ServerSettings,
    **uvicorn_options: Any,
) -> None:
    """Set up logging, make the data directory, build the app and serve it until stopped;
    :class:`StartupError` if it cannot start.

    Uvicorn's own access log, ``Date`` and ``Server`` headers are off: the middleware
    writes the MozLog summary and the ``Date`` Firefox reads its clock from. ConfigError
    when the open-file limit leaves too few connections."""
    limits = connection_limits(server_settings)
    configure_logging(logging_settings, logger_name=logger_name)
    try:
        os.makedirs(data_dir, exist_ok=True)
    except OSError as exc:
        raise StartupError(f"data_dir: cannot create {data_dir!r} ({exc.strerror})") from None
    app = StartupGuard(build(), storage_url=storage_url)
    try:
        _serve(
            app,
            host=host,
            port=port,
            server_settings=server_settings,
            limits=limits,
            **uvicorn_options,
        )
    except SystemExit:  # uvicorn's way to give up at start-up
        if app.failure is None:
            raise
        if app.misconfigured:
            raise ConfigError(app.failure) from None
        raise StartupError(app.failure) from None


def _serve(
    app: StartupGuard,
    *,
    host: str,
    port: int,
    server_settings: ServerSettings,
    limits: ConnectionLimits,
    **uvicorn_options: Any,
) -> None:
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="on",
        date_header=False,
        server_header=False,
        access_log=False,
        log_config=None,
        http=protocol_class(limits),
        timeout_keep_alive=server_settings.keep_alive_timeout,
        timeout_graceful_shutdown=math.ceil(limits.drain_timeout) + DRAIN_GRACE,
        **uvicorn_options,
    )
    if server_settings.workers == 1:
        _run_server(config, None)
        return
    status = run_workers(
        server_settings.workers, config.bind_socket(), lambda bound: _run_server(config, bound)
    )
    if status:
        sys.exit(status)


def _run_server(config: uvicorn.Config, bound: socket.socket | None) -> None:
    server = DrainingServer(config)
    server.run(sockets=[bound] if bound is not None else None)
    if not server.started:
        sys.exit(STARTUP_FAILURE)


def connection_limits(server: ServerSettings) -> ConnectionLimits:
    try:
        cap = derived_connection_cap(server.max_connections, server.reserved_files)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return ConnectionLimits(
        header_timeout=server.header_timeout,
        body_timeout=server.body_timeout,
        max_connections=cap,
        drain_timeout=server.drain_timeout,
    )


def with_workers(settings: SettingsT, workers: int) -> SettingsT:
    """``settings`` with ``server.workers`` from ``--workers`` (both services have a
    ``[server]`` section), checked like the setting."""
    server = dataclasses.replace(settings.server, workers=workers)  # type: ignore[attr-defined]
    for ok, message in server_checks(server):
        if not ok:
            raise ConfigError(message)
    return dataclasses.replace(settings, server=server)  # type: ignore[type-var]


def package_version() -> str:
    try:
        return importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:  # run from a source tree, not installed
        return "0.0.0"


def _parse_args(
    argv: Sequence[str] | None, *, prog: str, description: str, config_variable: str
) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument(
        "--config",
        metavar="FILE",
        default=os.environ.get(config_variable),
        help=f"TOML configuration file (default: ${config_variable}, if set)",
    )
    parser.add_argument("--check", action="store_true", help="validate the settings and exit")
    parser.add_argument(
        "--sample-config",
        action="store_true",
        help="print every setting with its default and meaning (TOML), and exit",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="processes serving the port (server.workers; several want Redis storage)",
    )
    return parser.parse_args(argv)
