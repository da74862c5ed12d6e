"""``loop-msisdn``: run the MSISDN gateway (uvicorn) from a TOML file and ``MSISDN_*``
environment variables (e.g. ``MSISDN_SMS_GATEWAYS__NEXMO__PRIORITY=10``)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import uvicorn

from loop.config import ConfigError, LoggingSettings
from loop.msisdn.config import MsisdnSettings, load_msisdn_settings


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="loop-msisdn",
        description="MSISDN verification gateway. Settings: defaults < --config FILE < "
        "MSISDN_* environment variables.",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        default=os.environ.get("MSISDN_CONFIG"),
        help="TOML configuration file (default: $MSISDN_CONFIG, if set)",
    )
    parser.add_argument("--check", action="store_true", help="validate the settings and exit")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = load_msisdn_settings(args.config)
    except ConfigError as exc:
        print(f"loop-msisdn: configuration error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        print("loop-msisdn: configuration is valid")
        return 0
    serve(settings)
    return 0


def serve(settings: MsisdnSettings) -> None:
    from loop.logging import configure_logging
    from loop.msisdn.app import create_gateway_app

    configure_logging(LoggingSettings())
    os.makedirs(settings.data_dir, exist_ok=True)
    uvicorn.run(
        create_gateway_app(settings),
        host=settings.ip,
        port=settings.port,
        lifespan="on",
        date_header=False,
        server_header=False,
        access_log=False,
        log_config=None,
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
