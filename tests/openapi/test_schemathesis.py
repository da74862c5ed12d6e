"""schemathesis fuzzes every operation of the document, on both backends (stateless).

Cases are generated from the app's own document, seeded and bounded (``derandomize``;
``POSITIVE`` cases per operation that fit the schemas, ``NEGATIVE`` that do not), then
sent in process to the app under test and judged by ``not_a_server_error``,
``status_code_conformance`` and ``response_schema_conformance``: no 5xx, every status
declared, every body (error bodies included) as the document says.

Still stateless, but not blind: each operation gets a fresh session, and every other case
of an operation with a ``{token}`` names a live room (with a participant) or call URL of
that session instead of a random token. Credentials vary by case (:func:`credentials`):
Hawk signatures, participant tokens, none, or schemathesis's own invalid ones. The room
page (``/{token}``, for browsers) is left out: its path also matches every one-segment API
path.
"""

from __future__ import annotations

import dataclasses
import enum
import time
from collections import Counter, defaultdict
from typing import Any

import httpx
import requests
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, Case, CheckFunction, GenerationMode, openapi
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.app import make_settings, running_app
from tests.support.client import HawkSession, LoopClient
from tests.support.rooms import basic

POSITIVE = 30
NEGATIVE = 10
"""Cases per operation and mode; the run stays well within a minute per backend."""
BASE_URL = "http://localhost:5000"
CHECKS: list[CheckFunction] = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
]
CONTEXT = {"value": "v", "alg": "AES-GCM", "wrappedKey": "k"}
FRESH_WINDOWS = 3601
"""Seconds the clock moves before each operation: what one operation's cases count in the
rate limits (per session, user and address; every request comes from one address) never
spills into the next. Sessions, rooms and call URLs live far longer than the whole run."""
Operation = APIOperation[Any, Any, Any, Any]
FuzzCase = Case[Any]


def generated_cases(operation: Operation, mode: GenerationMode, count: int) -> list[FuzzCase]:
    """``count`` cases of ``operation`` (fewer when there are fewer), the same every run;
    none in negative mode for an operation with nothing to get wrong."""
    found: list[FuzzCase] = []

    @given(operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def collect(case: FuzzCase) -> None:
        found.append(case)

    try:
        collect()
    except Unsatisfiable:
        assert mode is GenerationMode.NEGATIVE and not found, operation.label
    return found


class Credentials(enum.Enum):
    HAWK = "a Hawk signature of a live session"
    PARTICIPANT = "a live participant's token (Basic)"
    NONE = "no Authorization"
    GENERATED = "schemathesis's own Authorization, if any"


def credentials(operation: Operation, index: int) -> Credentials:
    """Hawk where the operation takes it, a participant token every fourth pair of cases
    where it takes one, and no or random credentials every fourth pair."""
    schemes = {
        name
        for requirement in operation.definition.raw.get("security", [])
        for name in requirement
    }
    cycle = (index // 2) % 4
    if cycle == 3:
        return Credentials.NONE if (index // 8) % 2 == 0 else Credentials.GENERATED
    if cycle == 1 and "participantToken" in schemes:
        return Credentials.PARTICIPANT
    return Credentials.HAWK if "hawk" in schemes else Credentials.GENERATED


@dataclasses.dataclass
class Live:
    """An operation's own session, and the live resource its ``{token}`` may name."""

    hawk: HawkSession
    token: str | None = None
    participant: str | None = None


class Fuzzer:
    """Sends an operation's cases with a session and live resources of its own."""

    def __init__(self, http: httpx.AsyncClient, client: LoopClient) -> None:
        self.http = http
        self.client = client
        self.sent = 0
        self.failures: list[str] = []
        self.statuses: dict[str, Counter[int]] = defaultdict(Counter)

    async def run(self, operation: Operation, cases: list[FuzzCase]) -> None:
        live = await self._live(operation.path)
        for index, case in enumerate(cases):
            if live.token is not None and index % 2 == 0:
                case.path_parameters["token"] = live.token
            response = await self._send(case, credentials(operation, index), live)
            self.sent += 1
            self.statuses[operation.label][response.status_code] += 1
            try:
                case.validate_response(response, checks=CHECKS)
            except BaseExceptionGroup as failure:  # schemathesis's FailureGroup
                self.failures.append(f"{operation.label}: {failure}")

    async def _live(self, path: str) -> Live:
        live = Live(await self.client.register())
        if "{token}" not in path:
            return live
        if "/room" in path:
            body = {"context": CONTEXT, "roomOwner": "fuzz", "maxSize": 3}
            created = await self.client.post("/rooms", json=body, hawk=live.hawk)
            live.token = created.json()["roomToken"]
            join = {"action": "join", "displayName": "p", "clientMaxSize": 3}
            joined = await self.client.post(f"/rooms/{live.token}", json=join)
            live.participant = joined.json()["sessionToken"]
        else:
            created = await self.client.post("/call-url", json={"callerId": "c"}, hawk=live.hawk)
            live.token = created.json()["callToken"]
        return live

    async def _send(self, case: FuzzCase, chosen: Credentials, live: Live) -> httpx.Response:
        kwargs: dict[str, Any] = case.as_transport_kwargs(base_url=BASE_URL)
        prepared = requests.Request(**kwargs).prepare()
        headers = {name: str(value) for name, value in prepared.headers.items()}
        body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
        assert body is None or isinstance(body, bytes), type(body)
        url = str(prepared.url)
        if chosen is Credentials.HAWK:
            content_type = headers.get("Content-Type")
            headers["Authorization"] = self.client.hawk_header(
                live.hawk, url, case.method, body, content_type
            )
        elif chosen is Credentials.PARTICIPANT and live.participant is not None:
            headers |= basic(live.participant)
        elif chosen is Credentials.NONE:
            headers.pop("Authorization", None)
        return await self.http.request(case.method, url, content=body, headers=headers)


async def test_schemathesis_finds_no_failure(storage_url: str) -> None:
    started = time.monotonic()
    app_settings = make_settings(storage_url, push_server_uris=[])
    async with running_app(app_settings) as (app, _services, clock):
        schema = openapi.from_dict(app.state.openapi)
        operations = [r.ok() for r in schema.get_all_operations() if isinstance(r, Ok)]
        operations = [op for op in operations if "pages" not in op.definition.raw["tags"]]
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
            fuzzer = Fuzzer(http, LoopClient(http, clock, prefix="/v0"))
            for operation in operations:
                clock.advance(FRESH_WINDOWS)
                cases = generated_cases(operation, GenerationMode.POSITIVE, POSITIVE)
                cases += generated_cases(operation, GenerationMode.NEGATIVE, NEGATIVE)
                await fuzzer.run(operation, cases)
    elapsed = time.monotonic() - started
    print(f"\nschemathesis: {len(operations)} operations, {fuzzer.sent} cases in {elapsed:.1f} s")
    for label, counted in fuzzer.statuses.items():
        print(label, dict(sorted(counted.items())))
    assert not fuzzer.failures, "\n".join(fuzzer.failures[:5])
    described = [
        operation
        for methods in app.state.openapi["paths"].values()
        for operation in methods.values()
        if "pages" not in operation["tags"]
    ]
    assert len(operations) == len(described) >= 62  # every operation but the room page
    assert fuzzer.sent > len(operations) * POSITIVE // 2
