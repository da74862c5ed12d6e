"""The document: a valid OpenAPI 3.1 description of every route, served at both prefixes,
written from the route table and the settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from loop.app import create_app
from loop.config import FxaOAuthSettings, RoomsSettings, Settings
from loop.routes.openapi import DECLARATIONS
from loop.web.openapi import MissingDeclaration, document
from tests.support.app import make_settings, running_app


def sqlite_settings(tmp_path: Path, **overrides: Any) -> Settings:
    return make_settings(f"sqlite:///{tmp_path / 'loop.db'}", **overrides)


def served_operations(routes: list[object], prefix: str = "") -> set[tuple[str, str]]:
    """``(path, method)`` of every HTTP route of the app, read independently of the
    builder; static files are not an operation."""
    found: set[tuple[str, str]] = set()
    for route in routes:
        if isinstance(route, Mount) and route.routes:
            found |= served_operations(list(route.routes), prefix + route.path)
        elif isinstance(route, Route):
            methods = (route.methods or set()) - {"HEAD"}
            found |= {(prefix + route.path_format, method.lower()) for method in methods}
    return found


def described_operations(described: dict[str, object]) -> set[tuple[str, str]]:
    paths = described["paths"]
    assert isinstance(paths, dict)
    return {(path, method) for path, item in paths.items() for method in item}


async def test_the_document_validates_and_is_served_at_both_prefixes(storage_url: str) -> None:
    async with running_app(make_settings(storage_url)) as (app, _services, _clock):
        described = app.state.openapi
        validate(described)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://localhost:5000"
        ) as http:
            for path in ("/openapi.json", "/v0/openapi.json"):
                response = await http.get(path)
                assert response.status_code == 200
                assert response.headers["content-type"] == "application/json"
                assert response.json() == described
    assert described["openapi"] == "3.1.0"


@pytest.mark.parametrize("oauth", [False, True], ids=["oauth-off", "oauth-on"])
def test_every_route_of_the_app_is_described(tmp_path: Path, oauth: bool) -> None:
    settings = sqlite_settings(tmp_path, fxa_oauth=FxaOAuthSettings(activated=oauth))
    app = create_app(settings)
    served = served_operations(list(app.routes))
    described = described_operations(app.state.openapi)
    oauth_paths = {op for op in served if "/fxa-oauth/" in op[0]}
    assert len(oauth_paths) == 6
    expected = served if oauth else served - oauth_paths
    assert described == expected
    assert ("/v0/rooms/{token}", "post") in described
    assert ("/rooms/{token}", "post") in described


def test_a_route_without_declaration_stops_the_build(tmp_path: Path) -> None:
    async def undeclared(request: Request) -> Response:
        return Response()

    routes = [Mount("/v0", routes=[Route("/new", undeclared, methods=["GET"])])]
    with pytest.raises(MissingDeclaration, match="GET /v0/new"):
        document(routes, DECLARATIONS, sqlite_settings(tmp_path), title="t", version="0")


def test_body_schemas_follow_the_settings(tmp_path: Path) -> None:
    rooms = RoomsSettings(max_room_name_size=7, max_size=9, max_ttl=24)
    app = create_app(sqlite_settings(tmp_path, rooms=rooms))
    body = app.state.openapi["paths"]["/v0/rooms"]["post"]["requestBody"]
    properties = body["content"]["application/json"]["schema"]["properties"]
    assert properties["roomName"] == {"type": "string", "maxLength": 7}
    assert properties["maxSize"]["anyOf"][0] == {"type": "integer", "minimum": 2, "maximum": 9}
    assert properties["expiresIn"]["anyOf"][0] == {"type": "integer", "minimum": 1, "maximum": 24}
    assert sorted(properties["context"]["required"]) == ["alg", "value", "wrappedKey"]


NOT_ERROR_BODIES = {("rooms", "patch", "404"), ("__heartbeat__", "get", "503")}
"""Answers >= 400 whose body is not an error: a bulk delete that deleted nothing, and the
heartbeat's report."""


def test_error_answers_share_one_schema(tmp_path: Path) -> None:
    described = create_app(sqlite_settings(tmp_path)).state.openapi
    error = described["components"]["schemas"]["Error"]
    assert error["required"] == ["code", "errno", "error"]
    assert error["properties"]["error"]["type"] == "string"
    checked = 0
    for path, item in described["paths"].items():
        for method, spec in item.items():
            for status, answer in spec["responses"].items():
                if int(status) < 400 or (path.split("/")[-1], method, status) in NOT_ERROR_BODIES:
                    continue
                schema = answer["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (path, method, status)
                checked += 1
    assert checked > 100


def test_sessions_are_created_with_a_documented_header(tmp_path: Path) -> None:
    described = create_app(sqlite_settings(tmp_path)).state.openapi
    answer = described["paths"]["/v0/registration"]["post"]["responses"]["200"]
    assert "Hawk-Session-Token" in answer["headers"]
    schemes = described["components"]["securitySchemes"]
    assert (schemes["hawk"]["type"], schemes["hawk"]["scheme"]) == ("http", "hawk")
    assert described["paths"]["/v0/rooms"]["get"]["security"] == [{"hawk": []}]
