"""Structured logs: MozLog JSON in production, readable text in development (D19).

Code logs with the standard library and puts data in ``extra``::

    logger.info("request.summary", extra={"method": "GET", "path": "/", "code": 200})

:class:`MozLogFormatter` writes one JSON object per line with the MozLog envelope
(``Timestamp`` in nanoseconds, ``Type`` = logger name, ``Logger`` = ``"Loop"``,
``Hostname``, ``EnvVersion`` ``"2.0"``, ``Severity`` as a syslog number, ``Pid``) and every
``extra`` field, plus ``msg``, inside ``Fields`` — the shape log pipelines built for
Mozilla services (Kinto, autopush) already parse. :class:`TextFormatter` prints the same
fields as ``key=value`` after the message, so ``request.summary`` stays useful on a console.

Nothing secret reaches a line (issue 12.6): both formatters write an exception's type and
stack but never its message (an exception text can quote anything it was handed: a stored
record, a body, a token), every line of a request carries its ``rid`` (:data:`request_id`),
and uvicorn's extras that are not data (``color_message``, with ANSI codes) are dropped.
:class:`UvicornScrubber` drops uvicorn's websocket handshake lines, which quote the raw path
and query string.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import socket
import sys
import time
import traceback
from collections.abc import Mapping
from contextvars import ContextVar
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
    [
        *vars(logging.LogRecord("", 0, "", 0, "", (), None)),
        "message",
        "asctime",
        "taskName",
        "color_message",
    ]
)
"""Attributes every ``LogRecord`` has: anything else on a record came from ``extra``
(except uvicorn's ``color_message``, the message again with ANSI colour codes)."""

request_id: ContextVar[str] = ContextVar("loop.request_id", default="")
"""The id of the request being served (set by the middleware): every line logged while
serving it, the error lines of a 500 included, carries it as ``rid``."""


def syslog_severity(levelno: int) -> int:
    """The syslog severity for a Python level; custom levels round down to the nearest."""
    for level in sorted(_SYSLOG_SEVERITY, reverse=True):
        if levelno >= level:
            return _SYSLOG_SEVERITY[level]
    return 7


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a caller passed in ``extra`` (record attributes that are not standard),
    plus the current request's ``rid`` when the caller did not pass one."""
    fields = {key: value for key, value in vars(record).items() if key not in _RESERVED}
    if "rid" not in fields:
        rid = request_id.get()
        if rid:
            fields["rid"] = rid
    return fields


def exception_name(exc: BaseException) -> str:
    kind = type(exc)
    return (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )


def failure_fields(exc: BaseException) -> dict[str, str]:
    """``extra`` fields naming a failure without its message: its type, and the type of
    the exception behind it (the driver error inside a ``BackendError``)."""
    fields = {"error": exception_name(exc)}
    cause = exc.__cause__ or exc.__context__
    if cause is not None:
        fields["cause"] = exception_name(cause)
    return fields


def safe_traceback(exc: BaseException) -> str:
    """The traceback of ``exc`` and the exceptions it chains, like Python prints it but
    with each exception's type only: the frames say where it failed, and a message (which
    may quote a token, a body or a stored record) never reaches the log."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        cause = current.__cause__
        current = (
            cause if cause is not None or current.__suppress_context__ else current.__context__
        )
    parts: list[str] = []
    for position, failure in enumerate(reversed(chain)):
        if position:
            parts.append("\nwhile handling it, or because of it:\n\n")
        parts.append("Traceback (most recent call last):\n")
        parts.extend(traceback.format_tb(failure.__traceback__))
        parts.append(f"{exception_name(failure)} (message not logged)\n")
    return "".join(parts)


def _error_fields(record: logging.LogRecord) -> dict[str, str]:
    if not record.exc_info or record.exc_info[1] is None:
        return {}
    exc = record.exc_info[1]
    return {"error": exception_name(exc), "traceback": safe_traceback(exc)}


class MozLogFormatter(logging.Formatter):
    """One MozLog JSON object per record (https://wiki.mozilla.org/Firefox/Services/Logging)."""

    def __init__(self, logger_name: str = LOGGER_NAME) -> None:
        super().__init__()
        self.logger_name = logger_name
        self.hostname = socket.gethostname()
        # default=repr: a value json cannot encode (bytes, an object) must not lose the
        # line. One encoder for every line: json.dumps with options builds one per call.
        self._encode = json.JSONEncoder(
            default=repr, ensure_ascii=False, separators=(",", ":")
        ).encode

    def format(self, record: logging.LogRecord) -> str:
        fields = extra_fields(record)
        fields["msg"] = record.getMessage()
        if record.exc_info:
            fields.update(_error_fields(record))
        pid = record.process if record.process is not None else os.getpid()
        return self.line(record.name, record.levelno, int(record.created * 1e9), pid, fields)

    def line(self, name: str, levelno: int, timestamp_ns: int, pid: int, fields: Any) -> str:
        """The line of a record named ``name`` whose ``Fields`` (``msg`` included) are
        ``fields``: what :meth:`format` writes, and :func:`log_fields` without a record."""
        entry = {
            "Timestamp": timestamp_ns,
            "Type": name,
            "Logger": self.logger_name,
            "Hostname": self.hostname,
            "EnvVersion": ENV_VERSION,
            "Severity": syslog_severity(levelno),
            "Pid": pid,
            "Fields": fields,
        }
        return self._encode(entry)


class TextFormatter(logging.Formatter):
    """``time LEVEL logger message key=value ...`` for humans at a console, then the
    traceback (types only, as in :func:`safe_traceback`) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{self.formatTime(record)} {record.levelname} {record.name} {record.getMessage()}"
        fields = extra_fields(record)
        if fields:
            line += " " + " ".join(f"{key}={value!r}" for key, value in fields.items())
        if record.exc_info and record.exc_info[1] is not None:
            # not record.exc_text: another handler may have cached the full text there
            line += "\n" + safe_traceback(record.exc_info[1]).rstrip("\n")
        return line


QUIET_LOGGERS = ("httpx", "httpcore", "websockets", "hpack", "urllib3", "mohawk")
"""Libraries whose records quote what they carry (httpx logs each request's URL at INFO,
a push endpoint among them; ``websockets`` logs frames at DEBUG): they log warnings and
worse only, whatever the configured level."""


class UvicornScrubber(logging.Filter):
    """Drops the uvicorn records that quote the wire: its websocket handshake lines
    (``'<addr> - "WebSocket <path?query>" [accepted]'``, each socket writes its own summary
    line without them) and everything below INFO, where the ``websockets`` protocol,
    logging through ``uvicorn.error``, traces request lines, headers and frames."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("uvicorn"):
            return True
        if record.levelno < logging.INFO:
            return False
        return not (isinstance(record.msg, str) and record.msg.startswith('%s - "WebSocket %s"'))


FLUSH_DELAY = 0.05
"""Seconds an informational line may wait in the stream's buffer for others to join it."""


class _LoopHandler(logging.StreamHandler[TextIO]):
    """The handler :func:`configure_logging` installs (calling it again replaces that one
    handler and leaves others, pytest's capture or a debugger's, alone).

    Lines written on the event loop are flushed together at most :data:`FLUSH_DELAY`
    seconds after the first of them rather than one by one: under load a flush (a
    ``write`` system call) per request summary was a visible share of the server's CPU.
    Warnings and worse, and lines from other threads or outside a loop, are flushed at
    once, and the stream is flushed at exit (``logging.shutdown``)."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self._flush_due = False

    def flush(self) -> None:
        self._flush_due = False
        super().flush()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.stream.write(self.format(record) + self.terminator)
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)
            return
        self._flush_after(record.levelno)

    def write_fields(self, name: str, message: str, fields: Mapping[str, Any]) -> bool:
        """Write an INFO line of ``fields`` with no ``LogRecord`` (:func:`log_fields`);
        ``False``, having written nothing, when this handler needs the record: text
        format, a filter other than the scrubber (which keeps every non-uvicorn line), or
        a failed write (the record path reports it)."""
        formatter = self.formatter
        if not isinstance(formatter, MozLogFormatter) or any(
            not isinstance(each, UvicornScrubber) for each in self.filters
        ):
            return False
        entry = dict(fields)
        if "rid" not in entry and (rid := request_id.get()):
            entry["rid"] = rid
        entry["msg"] = message
        line = formatter.line(name, logging.INFO, time.time_ns(), os.getpid(), entry)
        self.acquire()
        try:
            self.stream.write(line + self.terminator)
        except Exception:
            return False
        finally:
            self.release()
        self._flush_after(logging.INFO)
        return True

    def _flush_after(self, levelno: int) -> None:
        if levelno >= logging.WARNING:
            self.flush()
        elif not self._flush_due:
            self._flush_soon()

    def _flush_soon(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        self._flush_due = True
        loop.call_later(FLUSH_DELAY, self.flush)


def log_fields(logger: logging.Logger, message: str, fields: Mapping[str, Any]) -> None:
    """``logger.info(message, extra=fields)`` for the line written once per request.

    A ``LogRecord`` and the trip through ``logging``'s dispatch and formatter took about
    as long as serving a heartbeat (12 µs of 30, measured in-process), so the handler
    :func:`configure_logging` installs is handed the fields and writes its line directly;
    every other handler on the way (pytest's capture, a debugger's) still gets the record,
    made once, as ``Logger.callHandlers`` would hand it."""
    if not logger.isEnabledFor(logging.INFO):
        return
    if logger.disabled or logger.filters:
        logger.info(message, extra=fields)
        return
    record: logging.LogRecord | None = None
    current: logging.Logger | None = logger
    while current is not None:
        for handler in current.handlers:
            if logging.INFO < handler.level:
                continue
            if isinstance(handler, _LoopHandler) and handler.write_fields(
                logger.name, message, fields
            ):
                continue
            if record is None:
                record = logger.makeRecord(
                    logger.name,
                    logging.INFO,
                    "(unknown file)",
                    0,
                    message,
                    (),
                    None,
                    "(unknown function)",
                    dict(fields),
                )
            handler.handle(record)
        current = current.parent if current.propagate else None


def buffered_stdout() -> TextIO:
    """Standard output, buffered even when Python's is not (``PYTHONUNBUFFERED``, which
    container images set, our Dockerfile included): unbuffered, every line was a ``write``
    system call of its own, whatever :class:`_LoopHandler` batches. The handler still
    flushes within :data:`FLUSH_DELAY`, and at once for warnings and at exit."""
    stdout = sys.stdout
    if not getattr(stdout, "write_through", False):
        return stdout
    try:
        descriptor = stdout.fileno()
    except (OSError, ValueError):
        return stdout
    stdout.flush()
    raw = io.FileIO(descriptor, "w", closefd=False)
    return io.TextIOWrapper(
        io.BufferedWriter(raw), encoding=stdout.encoding, errors="backslashreplace"
    )


def configure_logging(
    settings: LoggingSettings, stream: TextIO | None = None, *, logger_name: str = LOGGER_NAME
) -> None:
    """Send every log record (the server's and uvicorn's) to ``stream`` (stdout, as
    Dockerflow expects) in the configured format, at the configured level; MozLog's
    ``Logger`` names the application (``Loop``, or the gateway's ``LoopMsisdn``)."""
    level = settings.level.upper()
    if level not in logging.getLevelNamesMapping():
        raise ConfigError(f"logging.level: unknown level {settings.level!r}")
    if settings.format not in ("json", "text"):
        raise ConfigError("logging.format: must be 'json' or 'text'")
    handler = _LoopHandler(stream if stream is not None else buffered_stdout())
    json_lines = settings.format == "json"
    handler.setFormatter(MozLogFormatter(logger_name) if json_lines else TextFormatter())
    handler.addFilter(UvicornScrubber())
    _skip_unused_record_fields()
    root = logging.getLogger()
    for existing in [h for h in root.handlers if isinstance(h, _LoopHandler)]:
        existing.flush()
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def _skip_unused_record_fields() -> None:
    """Neither format writes a record's source line, thread or process name: the logging
    HOWTO's "Optimization" switches stop every record from computing them (finding the
    caller's frame walks the stack on each call; ``Pid`` is kept)."""
    logging._srcfile = None
    logging.logThreads = False
    logging.logMultiprocessing = False
