"""The one console runner behind ``loop-server`` and ``loop-msisdn``.

Both commands do the same: settings from defaults < ``--config FILE`` (default: an
environment variable) < environment variables; ``--check`` validates and exits; a
configuration error is one line on stderr and exit status 2; otherwise logging is set up
and uvicorn serves the app, guarded against slow and surplus clients, until SIGTERM or
SIGINT drains it (exit status 0; ``loop.web.server``). Only the names, the settings loader
and the app differ.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import uvicorn
from uvicorn.config import STARTUP_FAILURE

from loop.config import ConfigError, LoggingSettings, ServerSettings
from loop.logging import configure_logging
from loop.web.server import (
    ConnectionLimits,
    DrainingServer,
    derived_connection_cap,
    protocol_class,
)

SettingsT = TypeVar("SettingsT")

CONFIG_ERROR_STATUS = 2

DRAIN_GRACE = 1
"""Seconds app tasks get, once the drain cut their connections, before uvicorn cancels
them (a route finishing a storage call after its client went)."""


def run(
    argv: Sequence[str] | None,
    *,
    prog: str,
    description: str,
    config_variable: str,
    load: Callable[[str | None], SettingsT],
    serve: Callable[[SettingsT], None],
) -> int:
    """Parse ``argv``, load the settings, then ``--check`` or ``serve``; the exit status."""
    args = _parse_args(argv, prog=prog, description=description, config_variable=config_variable)
    try:
        settings = load(args.config)
    except ConfigError as exc:
        print(f"{prog}: configuration error: {exc}", file=sys.stderr)
        return CONFIG_ERROR_STATUS
    if args.check:
        print(f"{prog}: configuration is valid")
        return 0
    try:
        serve(settings)
    except ConfigError as exc:
        print(f"{prog}: configuration error: {exc}", file=sys.stderr)
        return CONFIG_ERROR_STATUS
    return 0


def serve_app(
    build: Callable[[], Any],
    *,
    host: str,
    port: int,
    data_dir: str,
    logging_settings: LoggingSettings,
    server_settings: ServerSettings,
    **uvicorn_options: Any,
) -> None:
    """Set up logging, make the data directory, build the app and serve it until stopped.

    Uvicorn's own access log, ``Date`` and ``Server`` headers are off: the middleware
    writes the MozLog summary and the ``Date`` Firefox reads its clock from. ConfigError
    when the open-file limit leaves too few connections."""
    limits = connection_limits(server_settings)
    configure_logging(logging_settings)
    os.makedirs(data_dir, exist_ok=True)
    config = uvicorn.Config(
        build(),
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
    server = DrainingServer(config)
    server.run()
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
    return parser.parse_args(argv)
