"""The answers of a refused sign-in (loop-api.md §3.5, decisions §6)."""

from __future__ import annotations

from loop import errors

INVALID_ASSERTION = "BrowserID assertion is invalid"


def browserid_error(message: str) -> errors.LoopError:
    """401 errno 110 naming the server's own finding, in the body and in
    ``WWW-Authenticate: BrowserID error="…"``."""
    safe = _header_safe(message)
    return errors.unauthorized(f'BrowserID error="{safe}"', safe)


def browserid_refused() -> errors.LoopError:
    """401 ``Unauthorized`` with a bare ``WWW-Authenticate: BrowserID``: a malformed
    header, or an assertion the verifier refused (its reason is not echoed)."""
    return errors.unauthorized("BrowserID")


def no_identity() -> errors.LoopError:
    """400 errno 110: verified, but the certificate names neither an e-mail nor a number."""
    return errors.LoopError(400, errors.Errno.INVALID_AUTH_TOKEN, INVALID_ASSERTION)


def _header_safe(message: str, limit: int = 200) -> str:
    """Printable, no quotes or backslashes (it goes inside a quoted header value)."""
    cleaned = "".join(c if c.isprintable() and c not in '"\\' else "'" for c in message)
    return cleaned[:limit]
