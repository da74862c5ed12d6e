"""``loop-server``: start the Loop server (uvicorn) from a TOML file and ``LOOP_*`` variables."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import uvicorn

from loop.config import ConfigError, Settings, load_settings


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="loop-server",
        description="Loop (Firefox Hello) server. Settings: defaults < --config FILE < LOOP_* "
        "environment variables (e.g. LOOP_ROOMS__PARTICIPANT_TTL=300).",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        default=os.environ.get("LOOP_CONFIG"),
        help="TOML configuration file (default: $LOOP_CONFIG, if set)",
    )
    parser.add_argument("--check", action="store_true", help="validate the settings and exit")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"loop-server: configuration error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        print("loop-server: configuration is valid")
        return 0
    serve(settings)
    return 0


def serve(settings: Settings) -> None:
    from loop.app import create_app
    from loop.logging import configure_logging

    configure_logging(settings.logging)
    os.makedirs(settings.data_dir, exist_ok=True)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        backlog=settings.accept_backlog,
        loop="uvloop",
        http="httptools",
        ws="websockets-sansio",
        lifespan="on",
        date_header=False,
        server_header=False,
        access_log=False,
        log_config=None,
        proxy_headers=False,
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
