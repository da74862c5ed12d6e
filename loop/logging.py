"""Structured logs: MozLog JSON in production, readable text in development (D19).

Code logs with the standard library and puts data in ``extra``::

    logger.info("request.summary", extra={"method": "GET", "path": "/", "code": 200})

:class:`MozLogFormatter` writes one JSON object per line with the MozLog envelope
(``Timestamp`` in nanoseconds, ``Type`` = logger name, ``Logger`` = ``"Loop"``,
``Hostname``, ``EnvVersion`` ``"2.0"``, ``Severity`` as a syslog number, ``Pid``) and every
``extra`` field, plus ``msg``, inside ``Fields`` — the shape log pipelines built for
Mozilla services (Kinto, autopush) already parse. :class:`TextFormatter` prints the same
fields as ``key=value`` after the message, so ``request.summary`` stays useful on a console.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import traceback
from typing import Any, TextIO

from loop.config import ConfigError, LoggingSettings

LOGGER_NAME = "Loop"
ENV_VERSION = "2.0"

_SYSLOG_SEVERITY = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}
"""Python levels → syslog severities (RFC 5424), as MozLog's ``Severity`` expects."""

_RESERVED = frozenset(
    [*vars(logging.LogRecord("", 0, "", 0, "", (), None)), "message", "asctime", "taskName"]
)
"""Attributes every ``LogRecord`` has: anything else on a record came from ``extra``."""


def syslog_severity(levelno: int) -> int:
    """The syslog severity for a Python level; custom levels round down to the nearest."""
    for level in sorted(_SYSLOG_SEVERITY, reverse=True):
        if levelno >= level:
            return _SYSLOG_SEVERITY[level]
    return 7


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a caller passed in ``extra`` (record attributes that are not standard)."""
    return {key: value for key, value in vars(record).items() if key not in _RESERVED}


def _error_fields(record: logging.LogRecord) -> dict[str, str]:
    if not record.exc_info or record.exc_info[1] is None:
        return {}
    _, exc, tb = record.exc_info
    return {
        "error": repr(exc),
        "traceback": "".join(traceback.format_exception(type(exc), exc, tb)),
    }


class MozLogFormatter(logging.Formatter):
    """One MozLog JSON object per record (https://wiki.mozilla.org/Firefox/Services/Logging)."""

    def __init__(self, logger_name: str = LOGGER_NAME) -> None:
        super().__init__()
        self.logger_name = logger_name
        self.hostname = socket.gethostname()

    def format(self, record: logging.LogRecord) -> str:
        fields = extra_fields(record)
        fields["msg"] = record.getMessage()
        fields.update(_error_fields(record))
        entry = {
            "Timestamp": int(record.created * 1_000_000_000),
            "Type": record.name,
            "Logger": self.logger_name,
            "Hostname": self.hostname,
            "EnvVersion": ENV_VERSION,
            "Severity": syslog_severity(record.levelno),
            "Pid": record.process if record.process is not None else os.getpid(),
            "Fields": fields,
        }
        # default=repr: a value json cannot encode (bytes, an object) must not lose the line
        return json.dumps(entry, default=repr, ensure_ascii=False, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    """``time LEVEL logger message key=value ...`` for humans at a console."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = extra_fields(record)
        if not fields:
            return line
        pairs = " ".join(f"{key}={value!r}" for key, value in fields.items())
        head, sep, tail = line.partition("\n")  # keep a traceback after the fields
        return f"{head} {pairs}{sep}{tail}"


class _LoopHandler(logging.StreamHandler[TextIO]):
    """Marks the handler :func:`configure_logging` installed, so calling it again replaces
    that one handler and leaves others (pytest's capture, a debugger's) alone."""


def configure_logging(settings: LoggingSettings, stream: TextIO | None = None) -> None:
    """Send every log record (the server's and uvicorn's) to ``stream`` (stdout, as
    Dockerflow expects) in the configured format, at the configured level."""
    level = settings.level.upper()
    if level not in logging.getLevelNamesMapping():
        raise ConfigError(f"logging.level: unknown level {settings.level!r}")
    if settings.format not in ("json", "text"):
        raise ConfigError("logging.format: must be 'json' or 'text'")
    handler = _LoopHandler(stream if stream is not None else sys.stdout)
    handler.setFormatter(MozLogFormatter() if settings.format == "json" else TextFormatter())
    root = logging.getLogger()
    for existing in [h for h in root.handlers if isinstance(h, _LoopHandler)]:
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
