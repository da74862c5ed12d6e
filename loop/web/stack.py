"""The layers a request passes through, without the one the app does not need.

Starlette wraps every application in ``ServerErrorMiddleware``, outside the user's
middleware, to answer a 500 for an exception that escaped them. Here
:class:`~loop.web.middleware.LoopMiddleware` is already the last line of defence: it
answers whatever a route lets escape (500 errno 999, or 503 for a backend), so that outer
layer never answered anything, and still cost each request a coroutine and each message a
send wrapper (about 2 % of a request's CPU under the room-flow load, py-spy).
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.types import ASGIApp

from loop.web.routing import IndexedRouter


class LeanStarlette(Starlette):
    """Starlette with the user middleware outermost, then exception handlers, then routes
    (an :class:`~loop.web.routing.IndexedRouter`).

    Only for an app whose outermost middleware answers every exception itself: a handler
    for ``500`` or ``Exception`` (which Starlette gives to the dropped layer) is refused
    rather than silently ignored."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        router = IndexedRouter(self.router.routes)
        router.lifespan_context = self.router.lifespan_context
        self.router = router

    def build_middleware_stack(self) -> ASGIApp:
        handlers = dict(self.exception_handlers)
        if 500 in handlers or Exception in handlers:
            raise TypeError("LeanStarlette: the middleware answers 500s, not a handler")
        app: ASGIApp = ExceptionMiddleware(self.router, handlers=handlers, debug=self.debug)
        for cls, args, kwargs in reversed(self.user_middleware):
            app = cls(app, *args, **kwargs)
        return app
