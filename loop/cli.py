"""``loop-server``: start the Loop server (uvicorn) from a TOML file and ``LOOP_*`` variables."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from loop.admin.cli import main as admin_main
from loop.app import create_app
from loop.config import Settings, load_settings
from loop.runner import run, serve_app


def main(argv: Sequence[str] | None = None) -> int:
    """``loop-server admin ...`` runs the operator's commands (:mod:`loop.admin`); anything
    else starts the server."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["admin"]:
        return admin_main(arguments[1:])
    return run(
        argv,
        prog="loop-server",
        description="Loop (Firefox Hello) server. Settings: defaults < --config FILE < LOOP_* "
        "environment variables (e.g. LOOP_ROOMS__PARTICIPANT_TTL=300).",
        config_variable="LOOP_CONFIG",
        load=load_settings,
        serve=serve,
    )


def serve(settings: Settings) -> None:
    serve_app(
        lambda: create_app(settings),
        host=settings.host,
        port=settings.port,
        data_dir=settings.data_dir,
        logging_settings=settings.logging,
        backlog=settings.accept_backlog,
        loop="uvloop",
        http="httptools",
        ws="websockets-sansio",
        proxy_headers=False,
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
