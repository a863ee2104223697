"""``GET /healthz``: is the server up, and its counters; public (it holds no data of the machine).

Answered without the token and whatever the ``Origin``, so a load balancer, a proxy's check or
the page itself (to tell "server down" from "stream refused") can always read it. It says whether
the data endpoints want a token (``token_required``), never the token. Asked with
``?origin=ORIGIN``, it also says whether a browser page of that origin may use the data endpoints
(``origin_allowed``), judged against this request's ``Host`` as the data endpoints judge theirs:
behind a proxy that rewrites ``Host``, a page learns that its origin must be passed to
``--allow-origin``, in any browser (none tells a page why its WebSocket handshake failed).
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from .endpoint import Endpoint
from .http_routes import json_response

__all__ = ["HEALTH_PATH", "Health"]

HEALTH_PATH = "/healthz"


class Health(Endpoint):
    """Answers ``{"status": "ok", **report()}`` as JSON, never cached, plus ``origin_allowed``
    when asked with ``?origin=``; ``origin_ok(origin, host)`` is the access policy's rule."""

    public = True

    def __init__(
        self,
        report: Callable[[], dict[str, object]],
        origin_ok: Callable[[str | None, str | None], bool],
    ) -> None:
        super().__init__(frozenset({HEALTH_PATH}))
        self.report = report
        self.origin_ok = origin_ok

    async def respond(self, connection: ServerConnection, request: Request) -> Response:
        """The report, with status 200."""
        answer: dict[str, object] = {"status": "ok", **self.report()}
        asked = parse_qs(urlsplit(request.path).query).get("origin")
        if asked:
            answer["origin_allowed"] = self.origin_ok(asked[-1], request.headers.get("host"))
        return json_response(answer, HTTPStatus.OK)
