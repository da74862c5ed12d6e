"""Placeholder: the routes of this family land with their feature."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
