"""The gateway's own errno table and error writer (msisdn-and-auth.md §1.2-§1.3, D21).

The gateway's numbers are not Loop's (its 114-117 are rate limits, Loop's 114 is an OAuth
state), so it has its own table. Bodies keep the tested shape: the text in ``error``,
``code`` equal to the status, optional members omitted; 429 bodies add ``retryAfter``.
Errors raised by the shared request readers (:mod:`loop.web.requests`: 406/106, 400/106,
413/113) already use the same numbers and shape, and are answered as they are.
"""

from __future__ import annotations

import math
from enum import IntEnum
from typing import Any


class GatewayErrno(IntEnum):
    INVALID_CODE = 105
    BADJSON = 106
    INVALID_PARAMETERS = 107
    MISSING_PARAMETERS = 108
    INVALID_AUTH_TOKEN = 110
    EXPIRED = 111
    LENGTH_MISSING = 112
    REQUEST_TOO_LARGE = 113
    TOO_MANY_SHORT_CODES = 114
    TOO_MANY_FOR_MSISDN = 115
    TOO_MANY_FOR_METHOD = 116
    TOO_MANY_REQUESTS = 117
    BACKEND = 201
    UNDEFINED = 999


class GatewayError(Exception):
    """An error answer: status, errno and the literal ``error`` text of the spec."""

    def __init__(
        self,
        status: int,
        errno: GatewayErrno,
        error: str,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(error)
        self.status = status
        self.errno = errno
        self.error = error
        self.headers = headers or {}
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        return {"code": self.status, "errno": int(self.errno), "error": self.error, **self.extra}


def missing(names: list[str]) -> GatewayError:
    """``Missing a,b``: the gateway joins names with a bare comma (§1.5)."""
    return GatewayError(400, GatewayErrno.MISSING_PARAMETERS, "Missing " + ",".join(names))


def invalid(error: str) -> GatewayError:
    return GatewayError(400, GatewayErrno.INVALID_PARAMETERS, error)


def invalid_msisdn() -> GatewayError:
    """The original sent no errno here (a typo in its table); 107 as §1.3 recommends."""
    return invalid("Invalid MSISDN number.")


def bad_json(error: str = "Request body should be defined as application/json") -> GatewayError:
    return GatewayError(406, GatewayErrno.BADJSON, error)


def expired(error: str) -> GatewayError:
    return GatewayError(410, GatewayErrno.EXPIRED, error)


def service_unavailable(retry_after: int, error: str = "Service Unavailable") -> GatewayError:
    headers = {"Retry-After": str(retry_after)}
    return GatewayError(503, GatewayErrno.BACKEND, error, headers=headers)


def too_many(errno: GatewayErrno, retry_after: float) -> GatewayError:
    """429 with ``retryAfter`` in the body: the seconds until the window ends (as
    ``API.md`` documents for 114-117). The ``Retry-After`` header is the configured
    ``retry_after``, as on every 429 and 503 (msisdn-and-auth.md §1.1; the app adds it)."""
    seconds = max(1, math.ceil(retry_after))
    return GatewayError(429, errno, "Too Many Requests", extra={"retryAfter": seconds})
