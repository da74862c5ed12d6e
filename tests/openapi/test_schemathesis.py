"""schemathesis fuzzes every operation of the document, on both backends (stateless).

Cases are generated from the app's own document, seeded and bounded (``derandomize``;
``POSITIVE`` cases per operation that fit the schemas, ``NEGATIVE`` that do not), then
sent in process to the app under test and judged by ``not_a_server_error``,
``status_code_conformance`` and ``response_schema_conformance``: no 5xx, every status
declared, every body (error bodies included) as the document says.

Still stateless, but not blind: every other case of an operation with a ``{token}`` gets
a live room or call URL of its session instead of a random token, and operations taking
Hawk are signed with a fresh session, except one case in four (sent without credentials,
or with schemathesis's own invalid ``Authorization``). The room page (``/{token}``, for
browsers) is left out: its path also matches every one-segment API path.
"""

from __future__ import annotations

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


def takes_hawk(operation: Operation) -> bool:
    security = operation.definition.raw.get("security", [])
    return any("hawk" in requirement for requirement in security)


class Fuzzer:
    """Sends an operation's cases with a session and live resources of its own."""

    def __init__(self, http: httpx.AsyncClient, client: LoopClient) -> None:
        self.http = http
        self.client = client
        self.sent = 0
        self.failures: list[str] = []
        self.statuses: dict[str, Counter[int]] = defaultdict(Counter)

    async def run(self, operation: Operation, cases: list[FuzzCase]) -> None:
        hawk = await self.client.register()
        live = await self._live_tokens(operation.path, hawk)
        for index, case in enumerate(cases):
            if live is not None and index % 2 == 0:
                case.path_parameters["token"] = live
            auth = (index // 2) % 4
            signed = hawk if takes_hawk(operation) and auth < 3 else None
            response = await self._send(
                case, signed, drop_authorization=auth == 3 and index % 8 < 4
            )
            self.sent += 1
            self.statuses[operation.label][response.status_code] += 1
            try:
                case.validate_response(response, checks=CHECKS)
            except BaseExceptionGroup as failure:  # schemathesis's FailureGroup
                self.failures.append(f"{operation.label}: {failure}")

    async def _live_tokens(self, path: str, hawk: HawkSession) -> str | None:
        if "/room" in path and "{token}" in path:
            body = {"context": CONTEXT, "roomOwner": "fuzz", "maxSize": 3}
            response = await self.client.post("/rooms", json=body, hawk=hawk)
            token: str = response.json()["roomToken"]
            return token
        if "/call" in path and "{token}" in path:
            response = await self.client.post("/call-url", json={"callerId": "c"}, hawk=hawk)
            token = response.json()["callToken"]
            return token
        return None

    async def _send(
        self, case: FuzzCase, hawk: HawkSession | None, drop_authorization: bool
    ) -> httpx.Response:
        kwargs: dict[str, Any] = case.as_transport_kwargs(base_url=BASE_URL)
        prepared = requests.Request(**kwargs).prepare()
        headers = {name: str(value) for name, value in prepared.headers.items()}
        body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
        assert body is None or isinstance(body, bytes), type(body)
        url = str(prepared.url)
        if hawk is not None:
            content_type = headers.get("Content-Type")
            headers["Authorization"] = self.client.hawk_header(
                hawk, url, case.method, body, content_type
            )
        elif drop_authorization:
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
                cases = generated_cases(operation, GenerationMode.POSITIVE, POSITIVE)
                cases += generated_cases(operation, GenerationMode.NEGATIVE, NEGATIVE)
                await fuzzer.run(operation, cases)
    elapsed = time.monotonic() - started
    print(f"\nschemathesis: {len(operations)} operations, {fuzzer.sent} cases in {elapsed:.1f} s")
    for label, counted in fuzzer.statuses.items():
        print(label, dict(sorted(counted.items())))
    assert not fuzzer.failures, "\n".join(fuzzer.failures[:5])
    assert len(operations) == 62
    assert fuzzer.sent > len(operations) * POSITIVE // 2
