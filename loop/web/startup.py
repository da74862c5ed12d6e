"""Start-up failures as one line naming the setting and the cause, never a traceback.

Services open in the ASGI lifespan, so a failure there (storage unreachable, a backend
refusing its URL) reaches uvicorn as Starlette's ``lifespan.startup.failed`` message, which
carries the whole traceback as text, and uvicorn logs it. :class:`StartupGuard` sits
between them: it keeps that message, describes the exception in one line
(:func:`describe_failure`), sends uvicorn that line instead, and keeps it for the runner to
print on stderr once uvicorn has given up.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from loop.config import ConfigError
from loop.logging import exception_name
from loop.storage import BackendError

_FAILED = ("lifespan.startup.failed", "lifespan.shutdown.failed")


class StartupError(Exception):
    """The server could not start; the message is the one line to show."""


def redacted_url(url: str) -> str:
    """``url`` without its password (``redis://:***@host:6379/0``)."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        user = parts.username or ""
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port is not None else ""
        return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))
    except ValueError:  # a port that is not a number: show the scheme only
        return url.partition(":")[0] + "://…"


def describe_failure(exc: BaseException, *, storage_url: str) -> str:
    """One line for an exception raised while the services opened."""
    if isinstance(exc, ConfigError):  # checked against the storage: it names the key
        return " ".join(str(exc).split())
    if isinstance(exc, BackendError):
        cause = exc.__cause__ or exc.original
        reason = _one_line(cause) if cause is not None else "no answer"
        return f"storage.url: storage unreachable at {redacted_url(storage_url)} ({reason})"
    return _one_line(exc)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{exception_name(exc)}: {text}" if text else exception_name(exc)


class StartupGuard:
    """Wraps the app for uvicorn; passes everything through but lifespan failures."""

    def __init__(self, app: ASGIApp, *, storage_url: str) -> None:
        self.app = app
        self.storage_url = storage_url
        self.failure: str | None = None
        """The one-line description of the start-up failure, once there was one."""
        self.misconfigured = False
        """Whether that failure was a :class:`ConfigError` (a setting the storage refused)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        held: list[str] = []

        async def send_failures_later(message: Message) -> None:
            if message["type"] in _FAILED:
                held.append(message["type"])
            else:
                await send(message)

        try:
            await self.app(scope, receive, send_failures_later)
        except Exception as exc:
            if not held:
                raise
            line = describe_failure(exc, storage_url=self.storage_url)
            if held[0] == _FAILED[0]:
                self.failure = line
                self.misconfigured = isinstance(exc, ConfigError)
            await send({"type": held[0], "message": line})
