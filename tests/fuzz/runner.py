"""Sending planned requests to an app in process, judging every answer, counting.

Hypothesis draws the requests (seeded, bounded); a run sends them in batches through
``httpx.ASGITransport`` and records every answer in a :class:`Tally` instead of raising,
so one run reports every distinct failure and its figures (requests, endpoints,
statuses, time) rather than stopping at the first.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import os
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import httpx
import mohawk
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from mohawk.base import EmptyValue

from loop.clock import Clock
from tests.fuzz.values import Form, Plan, Ref, Spliced
from tests.support.client import HawkSession

REQUESTS = int(os.environ.get("LOOP_FUZZ_REQUESTS", "10000"))
"""Fuzz requests per backend (CI: 10 000; raise it for a long local run)."""
SEED = int(os.environ.get("LOOP_FUZZ_SEED", "20261204"))


CHUNK = 10_000
"""Requests per Hypothesis run: a long fuzz is several runs (seeds ``SEED``, ``SEED + 1``…),
since one engine keeps every example's choices and would grow without bound."""


def fuzz(
    strategy: st.SearchStrategy[list[Plan]],
    per_example: int,
    send: Callable[[list[Plan]], object],
) -> None:
    """Draw batches of ``per_example`` requests from ``strategy`` until ``REQUESTS`` are
    sent: seeded and bounded, no deadline, no example database, no shrinking (failures
    are recorded in the tally, not raised, so there is nothing to shrink)."""
    remaining, part = REQUESTS, 0
    while remaining > 0:
        examples = -(-min(remaining, CHUNK) // per_example)

        @seed(SEED + part)
        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(strategy)
        def run(batch: list[Plan]) -> None:
            send(batch)

        run()
        remaining -= examples * per_example
        part += 1


@dataclasses.dataclass
class Tally:
    """Everything one fuzz run saw."""

    requests: int = 0
    statuses: collections.Counter[int] = dataclasses.field(default_factory=collections.Counter)
    endpoints: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    credentials: collections.Counter[tuple[str, int]] = dataclasses.field(
        default_factory=collections.Counter
    )
    """(how the request authenticated, status) → requests: shows how many got past auth."""
    failures: dict[str, str] = dataclasses.field(default_factory=dict)
    """A distinct failure (status, endpoint, reason) → one request that showed it."""
    started: float = dataclasses.field(default_factory=time.monotonic)

    def record(
        self, plan: Plan, where: str, response: httpx.Response, gateway: bool, spec: bool = False
    ) -> None:
        """Count the answer; ``spec`` says the spec prescribes it as it is (a 5xx or an
        unusual body the caller has checked itself)."""
        self.requests += 1
        self.statuses[response.status_code] += 1
        self.endpoints[plan.target.name] += 1
        self.credentials[plan.auth, response.status_code] += 1
        problem = None if spec else judge(response, gateway, plan.method == "HEAD")
        if problem is not None:
            key = f"{response.status_code} {plan.method} {plan.target.path}: {problem}"
            self.failures.setdefault(key, f"{where} -> {response.text[:300]!r}")

    def summary(self, label: str) -> str:
        statuses = ", ".join(f"{code}: {n}" for code, n in sorted(self.statuses.items()))
        return (
            f"fuzz {label}: {self.requests} requests over {len(self.endpoints)} endpoints in "
            f"{time.monotonic() - self.started:.1f} s (seed {SEED}); statuses {{{statuses}}}"
        )


def judge(response: httpx.Response, gateway: bool, head: bool = False) -> str | None:
    """Why the answer breaks the rules, or ``None``: below 500, and every error a JSON
    ``{"code", "errno", "error"}`` with ``code`` = the status (loop-api.md §2.1, D4). The
    gateway answers an unknown route or method with ``{"code"}`` alone
    (msisdn-and-auth.md §1.1). An answer to ``HEAD`` has no body to judge."""
    status = response.status_code
    if status >= 500:
        return "server error"
    if status < 400 or head:
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        return "error body is not JSON"
    if gateway and status in (404, 405) and body == {"code": status}:
        return None
    if not isinstance(body, dict) or body.get("code") != status:
        return "error body without the status as code"
    errno, error = body.get("errno"), body.get("error")
    if not isinstance(errno, int) or isinstance(errno, bool):
        return "errno is not a number"
    if not isinstance(error, str) or not error:
        return "error is not a non-empty string"
    return None


def path_of(plan: Plan, resolve: Callable[[Ref], str]) -> str:
    """The planned path with its ``{token}``/``{path}`` filled and the query added."""
    path = plan.target.path
    token = plan.path_token
    if token is not None:
        text = resolve(token) if isinstance(token, Ref) else token
        path = path.replace("{token}", text).replace("{path}", text)
    return path + plan.query


def content_of(plan: Plan, resolve: Callable[[Ref], Any]) -> bytes:
    if isinstance(plan.body, bytes):
        return plan.body
    if isinstance(plan.body, Spliced):
        return plan.body.text(json.dumps(_resolved(plan.body.body, resolve)))
    if isinstance(plan.body, Form):
        fields = _resolved(plan.body.body, resolve).items()
        return urlencode(
            [(k, v if isinstance(v, str) else json.dumps(v)) for k, v in fields]
        ).encode()
    return json.dumps(_resolved(plan.body, resolve)).encode()


def _resolved(value: Any, resolve: Callable[[Ref], Any]) -> Any:
    if isinstance(value, Ref):
        return resolve(value)
    if isinstance(value, dict):
        return {key: _resolved(item, resolve) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolved(item, resolve) for item in value]
    return value


def headers_of(plan: Plan) -> dict[str, str | bytes]:
    headers: dict[str, str | bytes] = dict(plan.extra)
    if isinstance(plan.body, Form):
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif plan.content_type is not None:
        headers["Content-Type"] = plan.content_type
    if plan.accept is not None:
        headers["Accept"] = plan.accept
    return headers


class World:
    """What a fuzz run sends requests with: an in-process client, the app's clock (Hawk
    timestamps follow it), sessions to sign with, and the run's :class:`Tally`.
    Subclasses make the sessions and resolve :class:`Ref`."""

    gateway = False
    """The gateway's error rules apply (its bare ``{"code"}`` 404 and 405)."""

    def __init__(self, http: httpx.AsyncClient, clock: Clock) -> None:
        self.http = http
        self.clock = clock
        self.tally = Tally()

    def resolve(self, ref: Ref) -> Any:
        raise NotImplementedError

    def session(self, kind: str) -> HawkSession:
        """The live session a ``guest``/``registered`` request signs with."""
        raise NotImplementedError

    def credential(self, kind: str) -> str | None:
        """The ``Authorization`` of the other kinds that need the world (``participant``,
        ``browserid``); ``None`` sends none."""
        return None

    def prescribed(self, plan: Plan, response: httpx.Response) -> bool:
        """Whether the spec prescribes this answer as it is, outside the general rules."""
        return False

    async def send(self, plan: Plan) -> httpx.Response:
        url = httpx.URL(str(self.http.base_url).rstrip("/") + path_of(plan, self.resolve))
        content = content_of(plan, self.resolve)
        headers = headers_of(plan)
        authorization = self.authorize(plan, url, content)
        if authorization is not None:
            headers["Authorization"] = authorization
        if plan.auth == "tampered":
            content += b" "
        raw = [(k.encode(), v if isinstance(v, bytes) else v.encode()) for k, v in headers.items()]
        response = await self.http.request(plan.method, url, content=content, headers=raw)
        where = f"{plan.method} {url} auth={plan.auth} body={content[:200]!r} headers={headers}"
        self.tally.record(plan, where, response, self.gateway, self.prescribed(plan, response))
        return response

    def authorize(self, plan: Plan, url: httpx.URL, content: bytes) -> str | bytes | None:
        kind = plan.auth
        session = self.session("registered" if kind == "registered" else "guest")
        if kind in ("guest", "registered", "tampered"):
            return self._hawk(session, plan, url, content)
        if kind == "stale":
            return self._hawk(session, plan, url, content, skew=-3600)
        if kind == "wrong-key":
            wrong = dataclasses.replace(session, key="not the key")
            return self._hawk(wrong, plan, url, content)
        if kind == "forged":
            return plan.forged
        return self.credential(kind)

    def _hawk(
        self, session: HawkSession, plan: Plan, url: httpx.URL, content: bytes, skew: int = 0
    ) -> str:
        """Signed as Firefox signs: payload hash over the body and its content type."""
        sender = mohawk.Sender(
            session.credentials,
            str(url),
            plan.method,
            content=content if content else EmptyValue,
            content_type=str(headers_of(plan).get("Content-Type", "")) if content else EmptyValue,
            always_hash_content=bool(content),
            _timestamp=int(self.clock.now()) + skew,
        )
        return str(sender.request_header)
