"""``GET /healthz``: is the server up, and its counters; public (it holds no data of the machine).

Answered without the token and whatever the ``Origin``, so a load balancer, a proxy's check or
the page itself (to tell "server down" from "stream refused") can always read it. It says whether
the data endpoints want a token (``token_required``), never the token.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from .endpoint import Endpoint
from .http_routes import json_response

__all__ = ["HEALTH_PATH", "Health"]

HEALTH_PATH = "/healthz"


class Health(Endpoint):
    """Answers ``{"status": "ok", **report()}`` as JSON, never cached."""

    public = True

    def __init__(self, report: Callable[[], dict[str, object]]) -> None:
        super().__init__(frozenset({HEALTH_PATH}))
        self.report = report

    async def respond(self, connection: ServerConnection, request: Request) -> Response:
        """The report, with status 200."""
        return json_response({"status": "ok", **self.report()}, HTTPStatus.OK)
