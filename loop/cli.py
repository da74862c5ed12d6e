"""``loop-server``: start the Loop server (uvicorn) from a TOML file and ``LOOP_*`` variables."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from loop.admin.cli import main as admin_main
from loop.app import create_app
from loop.config import SAMPLE_HEADER, Settings, load_settings
from loop.msisdn.config import load_msisdn_settings
from loop.runner import run, serve_app
from loop.web.websocket import LeanWebSocketProtocol
from loop.web.workers import ensure_metrics_directory


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
        settings_type=Settings,
        sample_header=SAMPLE_HEADER,
        load=load,
        serve=serve,
    )


def load(path: str | None) -> Settings:
    """The settings, and the mounted gateway's too (``msisdn.mount``), so ``--check``
    refuses what start-up would fail on."""
    settings = load_settings(path)
    if settings.msisdn.mount:
        load_msisdn_settings(settings.msisdn.config or None)
    return settings


def serve(settings: Settings) -> None:
    if settings.server.workers > 1 and settings.metrics.prometheus:
        ensure_metrics_directory()  # re-executes the command once, to sum the workers' figures
    serve_app(
        lambda: create_app(settings),
        host=settings.host,
        port=settings.port,
        data_dir=settings.data_dir,
        storage_url=settings.storage_url,
        logging_settings=settings.logging,
        server_settings=settings.server,
        backlog=settings.accept_backlog,
        loop="uvloop",
        ws=LeanWebSocketProtocol,
        # Every browser offers permessage-deflate; accepted, it keeps zlib state per socket
        # (an idle socket took 72 KiB, 33 KiB without) to shrink messages of a few hundred
        # bytes (bench/websocket_idle.py). The lean protocol always declines it.
        ws_per_message_deflate=False,
        proxy_headers=False,
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
