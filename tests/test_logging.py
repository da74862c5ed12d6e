"""MozLog output (D19): the envelope, ``extra`` fields in ``Fields``, configuration."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from loop.clock import SystemClock
from loop.config import ConfigError, LoggingSettings, load_settings
from loop.logging import (
    MozLogFormatter,
    TextFormatter,
    UvicornScrubber,
    buffered_stdout,
    configure_logging,
    log_fields,
    request_id,
    syslog_severity,
)
from loop.web.middleware import LoopMiddleware


def make_record(
    msg: str = "hello %s",
    args: tuple[Any, ...] = ("world",),
    level: int = logging.INFO,
    name: str = "loop.test",
    exc_info: Any = None,
    **extra: Any,
) -> logging.LogRecord:
    record = logging.getLogger(name).makeRecord(
        name, level, __file__, 1, msg, args, exc_info, extra=extra
    )
    return record


def mozlog(record: logging.LogRecord) -> dict[str, Any]:
    line = MozLogFormatter().format(record)
    assert "\n" not in line
    entry: dict[str, Any] = json.loads(line)
    return entry


@pytest.fixture
def root_logging() -> Iterator[None]:
    """Restore the root logger's handlers and level after a test configures it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_the_envelope_has_every_mozlog_field() -> None:
    record = make_record()
    entry = mozlog(record)
    assert entry == {
        "Timestamp": int(record.created * 1_000_000_000),
        "Type": "loop.test",
        "Logger": "Loop",
        "Hostname": socket.gethostname(),
        "EnvVersion": "2.0",
        "Severity": 6,
        "Pid": os.getpid(),
        "Fields": {"msg": "hello world"},
    }
    assert len(str(entry["Timestamp"])) == 19  # nanoseconds since the epoch


@pytest.mark.parametrize(
    ("level", "severity"),
    [
        (logging.DEBUG, 7),
        (logging.INFO, 6),
        (logging.WARNING, 4),
        (logging.ERROR, 3),
        (logging.CRITICAL, 2),
        (25, 6),
        (5, 7),
    ],
)
def test_severity_uses_syslog_numbers(level: int, severity: int) -> None:
    assert syslog_severity(level) == severity
    assert mozlog(make_record(level=level))["Severity"] == severity


def test_extra_fields_land_in_fields_next_to_msg() -> None:
    record = make_record("request.summary", (), method="GET", code=200, t=3, rid="r1")
    assert mozlog(record)["Fields"] == {
        "method": "GET",
        "code": 200,
        "t": 3,
        "rid": "r1",
        "msg": "request.summary",
    }


def test_values_json_cannot_encode_are_written_as_their_repr() -> None:
    fields = mozlog(make_record(raw=b"\x00", obj=object))["Fields"]
    assert fields["raw"] == "b'\\x00'"
    assert fields["obj"] == "<class 'object'>"


SECRET = "secret-" + "token"  # traceback lines quote source code: not the secret itself


def fail_with(message: str) -> None:
    raise ValueError(message)


def test_exceptions_add_their_type_and_stack_but_never_their_message() -> None:
    try:
        try:
            fail_with(SECRET)
        except ValueError as exc:
            raise KeyError(SECRET) from exc
    except KeyError:
        record = make_record("failed", (), level=logging.ERROR, exc_info=sys.exc_info())
    fields = mozlog(record)["Fields"]
    assert fields["error"] == "KeyError"
    trace = fields["traceback"]
    assert trace.count("Traceback (most recent call last):") == 2
    assert "in fail_with" in trace and "ValueError (message not logged)" in trace
    assert trace.endswith("KeyError (message not logged)\n")
    assert SECRET not in trace


def test_the_text_format_withholds_exception_messages_too() -> None:
    try:
        fail_with(SECRET)
    except ValueError:
        record = make_record("failed", (), level=logging.ERROR, exc_info=sys.exc_info())
    logging.Formatter().format(record)  # another handler caches the full text first
    line = TextFormatter().format(record)
    assert "in fail_with" in line and line.endswith("ValueError (message not logged)")
    assert SECRET not in line


def test_uvicorn_colour_codes_are_not_fields() -> None:
    record = make_record("Started server process [%d]", (7,), color_message="\x1b[36m%d\x1b[0m")
    assert mozlog(record)["Fields"] == {"msg": "Started server process [7]"}
    assert "\x1b" not in TextFormatter().format(record)


def test_lines_written_while_serving_a_request_carry_its_id() -> None:
    token = request_id.set("abc123")
    try:
        assert mozlog(make_record())["Fields"] == {"msg": "hello world", "rid": "abc123"}
        assert mozlog(make_record(rid="given"))["Fields"]["rid"] == "given"
    finally:
        request_id.reset(token)
    assert "rid" not in mozlog(make_record())["Fields"]


def test_uvicorn_websocket_handshake_lines_are_dropped() -> None:
    scrubber = UvicornScrubber()
    handshake = make_record(
        '%s - "WebSocket %s" [accepted]', ("1.2.3.4:5", "/websocket?token=x"), name="uvicorn.error"
    )
    started = make_record("Application startup complete.", (), name="uvicorn.error")
    assert not scrubber.filter(handshake)
    assert scrubber.filter(started)


def test_text_format_appends_extra_fields() -> None:
    line = TextFormatter().format(make_record("request.summary", (), code=200, path="/"))
    assert line.endswith("INFO loop.test request.summary code=200 path='/'")


def test_configure_logging_writes_json_lines_at_the_configured_level(
    root_logging: None,
) -> None:
    stream = io.StringIO()
    configure_logging(LoggingSettings(level="warning", format="json"), stream=stream)
    logger = logging.getLogger("loop.configured")
    logger.info("hidden")
    logger.warning("shown", extra={"n": 1})
    (line,) = stream.getvalue().splitlines()
    entry = json.loads(line)
    assert (entry["Type"], entry["Severity"], entry["Fields"]) == (
        "loop.configured",
        4,
        {"n": 1, "msg": "shown"},
    )


def test_configure_logging_twice_replaces_its_own_handler_only(root_logging: None) -> None:
    root = logging.getLogger()
    others = list(root.handlers)
    first, second = io.StringIO(), io.StringIO()
    configure_logging(LoggingSettings(format="text"), stream=first)
    configure_logging(LoggingSettings(format="json"), stream=second)
    assert len(root.handlers) == len(others) + 1
    logging.getLogger("loop.twice").warning("once")
    assert first.getvalue() == ""
    assert json.loads(second.getvalue())["Fields"]["msg"] == "once"


@pytest.mark.parametrize(
    "settings", [LoggingSettings(level="LOUD"), LoggingSettings(format="xml")]
)
def test_configure_logging_rejects_bad_settings(settings: LoggingSettings) -> None:
    with pytest.raises(ConfigError):
        configure_logging(settings, stream=io.StringIO())


async def test_request_summary_fields_reach_the_mozlog_line(root_logging: None) -> None:
    async def hello(request: Request) -> Response:
        return PlainTextResponse("hi")

    app = Starlette(
        routes=[Route("/hello", hello)],
        middleware=[
            Middleware(LoopMiddleware, clock=SystemClock(), allowed_origins=[], retry_after=30)
        ],
    )
    stream = io.StringIO()
    configure_logging(LoggingSettings(level="INFO", format="json"), stream=stream)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        await client.get("/hello", headers={"User-Agent": "tester/1"})
    entries = [json.loads(line) for line in stream.getvalue().splitlines()]
    (summary,) = [e for e in entries if e["Fields"]["msg"] == "request.summary"]
    assert summary["Type"] == "loop.request"
    fields = summary["Fields"]
    assert fields.keys() == {
        "method",
        "path",
        "code",
        "errno",
        "t",
        "agent",
        "remote",
        "rid",
        "msg",
    }
    assert (fields["method"], fields["path"], fields["code"]) == ("GET", "/hello", 200)
    assert fields["agent"] == "tester/1"


def test_an_unknown_level_is_refused_at_start_up() -> None:
    with pytest.raises(ConfigError, match="logging.level"):
        load_settings(environ={"LOOP_LOGGING__LEVEL": "LOUD"})


class FlushCounter(io.StringIO):
    """A stream that tells when it is flushed."""

    def __init__(self) -> None:
        super().__init__()
        self.flushes = 0
        self.flushed = asyncio.Event()

    def flush(self) -> None:
        self.flushes += 1
        self.flushed.set()
        super().flush()


async def test_lines_on_the_loop_are_flushed_together(root_logging: None) -> None:
    stream = FlushCounter()
    configure_logging(LoggingSettings(level="INFO", format="json"), stream=stream)
    logger = logging.getLogger("loop.request")
    for n in range(10):
        logger.info("request.summary", extra={"n": n})
    assert stream.flushes == 0
    await asyncio.wait_for(stream.flushed.wait(), timeout=5)
    assert stream.flushes == 1
    assert len(stream.getvalue().splitlines()) == 10


async def test_warnings_are_flushed_at_once(root_logging: None) -> None:
    stream = FlushCounter()
    configure_logging(LoggingSettings(level="INFO", format="json"), stream=stream)
    logging.getLogger("loop").warning("storage.slow")
    assert stream.flushes == 1


def test_lines_outside_a_loop_are_flushed_at_once(root_logging: None) -> None:
    stream = FlushCounter()
    configure_logging(LoggingSettings(level="INFO", format="json"), stream=stream)
    logging.getLogger("loop").info("started")
    assert stream.flushes == 1


class RecordKeeper(logging.Handler):
    """Another handler on the way, as pytest's capture or a debugger's would be."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


SUMMARY = {"method": "POST", "path": "/rooms/{token}", "code": 200, "t": 3, "rid": "abc"}


def test_log_fields_writes_the_line_logger_info_writes(root_logging: None) -> None:
    stream = io.StringIO()
    configure_logging(LoggingSettings(level="INFO", format="json"), stream=stream)
    logger = logging.getLogger("loop.request")
    logger.info("request.summary", extra=SUMMARY)
    log_fields(logger, "request.summary", SUMMARY)
    through_record, direct = (json.loads(line) for line in stream.getvalue().splitlines())
    assert direct.keys() == through_record.keys()
    assert list(direct["Fields"].items()) == list(through_record["Fields"].items())
    for key in ("Type", "Logger", "Hostname", "EnvVersion", "Severity", "Pid"):
        assert direct[key] == through_record[key]
    assert 0 <= direct["Timestamp"] - through_record["Timestamp"] < 10**9


def test_log_fields_hands_other_handlers_the_record_they_expect(root_logging: None) -> None:
    stream = io.StringIO()
    configure_logging(LoggingSettings(level="INFO", format="json"), stream=stream)
    keeper = RecordKeeper()
    logger = logging.getLogger("loop.request")
    logger.addHandler(keeper)
    try:
        log_fields(logger, "request.summary", SUMMARY)
    finally:
        logger.removeHandler(keeper)
    (record,) = keeper.records
    assert (record.name, record.levelno, record.getMessage()) == (
        "loop.request",
        logging.INFO,
        "request.summary",
    )
    assert {key: getattr(record, key) for key in SUMMARY} == SUMMARY
    (line,) = stream.getvalue().splitlines()
    assert json.loads(line)["Fields"] == {**SUMMARY, "msg": "request.summary"}


def test_log_fields_adds_the_request_id_when_the_fields_have_none(root_logging: None) -> None:
    stream = io.StringIO()
    configure_logging(LoggingSettings(level="INFO", format="json"), stream=stream)
    token = request_id.set("rid-7")
    try:
        log_fields(logging.getLogger("loop.request"), "request.summary", {"code": 200})
    finally:
        request_id.reset(token)
    assert json.loads(stream.getvalue())["Fields"] == {
        "code": 200,
        "rid": "rid-7",
        "msg": "request.summary",
    }


def test_log_fields_keeps_the_text_format_and_the_level(root_logging: None) -> None:
    stream = io.StringIO()
    configure_logging(LoggingSettings(level="INFO", format="text"), stream=stream)
    logger = logging.getLogger("loop.request")
    log_fields(logger, "request.summary", {"code": 200})
    assert " INFO loop.request request.summary code=200" in stream.getvalue()
    configure_logging(LoggingSettings(level="WARNING", format="json"), stream=stream)
    log_fields(logger, "request.summary", {"code": 200})
    assert len(stream.getvalue().splitlines()) == 1


def test_log_fields_respects_a_filter_added_to_the_handler(root_logging: None) -> None:
    stream = io.StringIO()
    configure_logging(LoggingSettings(level="INFO", format="json"), stream=stream)
    (handler,) = [
        h for h in logging.getLogger().handlers if isinstance(h.formatter, MozLogFormatter)
    ]
    handler.addFilter(lambda record: record.getMessage() != "request.summary")
    log_fields(logging.getLogger("loop.request"), "request.summary", {"code": 200})
    assert stream.getvalue() == ""


def test_an_unbuffered_stdout_is_buffered_for_the_log_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``PYTHONUNBUFFERED`` (set in containers) made each line a ``write`` of its own."""
    with open(tmp_path / "stdout", "wb", buffering=0) as raw:
        unbuffered = io.TextIOWrapper(raw, encoding="utf-8", write_through=True)
        monkeypatch.setattr(sys, "stdout", unbuffered)
        stream = buffered_stdout()
        assert stream is not unbuffered
        stream.write("line one\n")
        assert (tmp_path / "stdout").read_text() == ""
        stream.flush()
        assert (tmp_path / "stdout").read_text() == "line one\n"


def test_a_buffered_stdout_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    buffered = io.StringIO()
    monkeypatch.setattr(sys, "stdout", buffered)
    assert buffered_stdout() is buffered
