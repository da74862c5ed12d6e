"""Reading the app's OpenAPI document in tests: the schema of an answer, and checking a
real answer against it."""

from __future__ import annotations

from typing import Any

import httpx
from openapi_schema_validator import OAS31Validator

OPENAPI_PATH_PARAMETER = "{token}"


def operation(document: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    found: dict[str, Any] = document["paths"][path][method.lower()]
    return found


def check_answer(document: dict[str, Any], path: str, response: httpx.Response) -> None:
    """``response`` (to ``path``, a templated path of the document) is one the document
    describes: a declared status, the declared media type, and a body valid against its
    schema (OpenAPI 3.1's JSON Schema dialect, ``$ref`` resolved in the document)."""
    method = response.request.method
    responses = operation(document, path, method)["responses"]
    status = str(response.status_code)
    assert status in responses, (method, path, status, response.text)
    content = responses[status].get("content")
    if content is None:
        assert not response.content, (method, path, status, response.text)
        return
    media_type = response.headers["content-type"].split(";", 1)[0]
    assert media_type in content, (method, path, status, media_type)
    schema = dict(content[media_type]["schema"], components=document["components"])
    body = response.json() if media_type == "application/json" else response.text
    OAS31Validator(schema).validate(body)
