"""``loop-msisdn``: run the MSISDN gateway (uvicorn) from a TOML file and ``MSISDN_*``
environment variables (e.g. ``MSISDN_SMS_GATEWAYS__NEXMO__PRIORITY=10``)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from loop.msisdn.app import create_gateway_app
from loop.msisdn.config import (
    LOGGER_NAME,
    SAMPLE_HEADER,
    MsisdnSettings,
    load_msisdn_settings,
)
from loop.runner import run, serve_app


def main(argv: Sequence[str] | None = None) -> int:
    return run(
        argv,
        prog="loop-msisdn",
        description="MSISDN verification gateway. Settings: defaults < --config FILE < "
        "MSISDN_* environment variables.",
        config_variable="MSISDN_CONFIG",
        settings_type=MsisdnSettings,
        sample_header=SAMPLE_HEADER,
        load=load_msisdn_settings,
        serve=serve,
    )


def serve(settings: MsisdnSettings) -> None:
    serve_app(
        lambda: create_gateway_app(settings),
        host=settings.ip,
        port=settings.port,
        data_dir=settings.data_dir,
        storage_url=settings.storage_url,
        logging_settings=settings.logging,
        logger_name=LOGGER_NAME,
        server_settings=settings.server,
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
