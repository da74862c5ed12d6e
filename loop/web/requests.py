"""Reading requests the way the original did (loop-api.md §1.2, §2.3; decisions D4)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from loop import errors
from loop.jsonutil import RefusedValue, check_value, dumps, loads

_BODY_KEY = "loop.body"


async def read_body(request: Request) -> bytes:
    """The raw body, read once and kept (Hawk hashes it, the route parses it).

    Refuses bodies over ``max_body_size`` with 413 errno 113, from ``Content-Length`` when
    announced, else while streaming, so a hostile client cannot make us buffer gigabytes.
    A body cut short (the client left, or stalled past ``server.body_timeout``) is 400
    errno 106.
    """
    cached: bytes | None = request.scope.get(_BODY_KEY)
    if cached is not None:
        return cached
    limit: int = request.app.state.max_body_size
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise errors.LoopError(400, errors.Errno.BADJSON, "Invalid Content-Length header.")
        if int(length) > limit:
            raise errors.too_large(limit)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise errors.too_large(limit)
            chunks.append(chunk)
    except ClientDisconnect:
        raise errors.incomplete_body() from None
    body = b"".join(chunks)
    request.scope[_BODY_KEY] = body
    return body


async def json_body(request: Request) -> dict[str, Any]:
    """The body as an object: JSON or urlencoded; a missing body is ``{}``.

    Anything else (malformed JSON, a JSON array or string, invalid UTF-8, ``NaN``, nesting
    beyond ``MAX_DEPTH``) is 400 errno 106; a value no storage can hold and read back (a lone
    surrogate, an integer beyond 64 bits) is 400 errno 107 naming its field.
    """
    raw = await read_body(request)
    if not raw.strip():
        return {}
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    try:
        if content_type == "application/x-www-form-urlencoded":
            form = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
            check_value(form)
            return form
        value = loads(raw)
    except RefusedValue as refused:
        raise errors.invalid_parameters(str(refused)) from None
    except (UnicodeDecodeError, ValueError):
        raise errors.bad_json() from None
    if not isinstance(value, dict):
        raise errors.bad_json()
    return value


def check_accept(request: Request) -> None:
    """The "Accept" gate: 406 errno 106 unless the client accepts JSON (or says nothing)."""
    accept = request.headers.get("accept")
    if accept is None or not accept.strip():
        return
    for item in accept.split(","):
        media_range, _, params = item.strip().partition(";")
        if media_range.strip().lower() in ("application/json", "application/*", "*/*"):
            if not _q_is_zero(params):
                return
    raise errors.not_acceptable()


def _q_is_zero(params: str) -> bool:
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value) == 0
            except ValueError:
                return False
    return False


def require_params(
    request: Request, body: Mapping[str, Any], *params: str | tuple[str, ...]
) -> None:
    """The original's parameter checker: Accept gate, then 400 errno 108 ``Missing: ...``.

    A parameter is missing when its key is absent (``null`` counts as present); a tuple is
    an alternative group, present when any of its keys is, and named with a bare comma.
    """
    check_accept(request)
    missing = [
        ",".join(param) if isinstance(param, tuple) else param
        for param in params
        if not any(key in body for key in (param if isinstance(param, tuple) else (param,)))
    ]
    if missing:
        raise errors.missing_parameters(missing)


def json_response(
    data: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(dumps(data), status, headers=headers, media_type="application/json")


def empty_json(status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A 200 with no body still says it is JSON, as the original's ``res.json()`` did."""
    return Response(b"", status, headers=headers, media_type="application/json")


def no_content() -> Response:
    return Response(status_code=204)
