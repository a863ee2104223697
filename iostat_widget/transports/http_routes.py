"""Plain HTTP answers on the WebSocket port, through websockets' ``process_request`` hook.

One port serves the stream and its companions (health check now; long poll and the page join the
same table), so a proxy or firewall needs one rule. websockets parses the request; a route returns
a :class:`~websockets.http11.Response`, or ``None`` to let the WebSocket handshake go ahead.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from .access import AccessPolicy

__all__ = ["Route", "Router", "bytes_response", "json_response", "text_response"]

Route = Callable[[ServerConnection, Request], Awaitable[Response]]


def bytes_response(body: bytes, content_type: str, status: HTTPStatus = HTTPStatus.OK) -> Response:
    """A complete response with a body; never cached (every answer here is live data)."""
    headers = Headers(
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            ("Connection", "close"),
        ]
    )
    return Response(status.value, status.phrase, headers, body)


def json_response(obj: Any, status: HTTPStatus = HTTPStatus.OK) -> Response:
    """A compact JSON response that is never cached."""
    body = json.dumps(obj, separators=(",", ":")).encode()
    return bytes_response(body, "application/json", status)


def text_response(text: str, status: HTTPStatus) -> Response:
    """A short UTF-8 text response (errors, 404)."""
    return bytes_response(text.encode(), "text/plain; charset=utf-8", status)


class Router:
    """Maps request paths to HTTP routes; ``websocket_paths`` go on to the handshake.

    Every request first passes the :class:`AccessPolicy` (origin always; token on ``guarded``
    paths; the client cap on ``counted`` ones, against ``active()`` clients).
    """

    def __init__(
        self,
        routes: Mapping[str, Route],
        websocket_paths: frozenset[str],
        *,
        policy: AccessPolicy | None = None,
        guarded: frozenset[str] = frozenset(),
        counted: frozenset[str] = frozenset(),
        active: Callable[[], int] = lambda: 0,
    ) -> None:
        self.routes = dict(routes)
        self.websocket_paths = websocket_paths
        self.policy = policy if policy is not None else AccessPolicy()
        self.guarded = guarded | websocket_paths
        self.counted = counted | websocket_paths
        self.active = active
        self.denied = 0  #: requests refused by the policy

    async def process_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        """websockets ``process_request`` hook."""
        try:
            path = urlsplit(request.path).path
        except ValueError:  # e.g. "//[": websockets accepted the line, but it is no URL
            return text_response("bad request: unparsable target\n", HTTPStatus.BAD_REQUEST)
        headers = {
            name: value
            for name in ("origin", "host", "authorization")
            if (value := request.headers.get(name)) is not None
        }
        denied = self.policy.check(
            request.path,
            headers,
            active=self.active() if path in self.counted else 0,
            needs_token=path in self.guarded,
        )
        if denied is not None:
            self.denied += 1
            response = text_response(f"{denied.reason}\n", denied.status)
            if denied.status == HTTPStatus.UNAUTHORIZED:
                response.headers["WWW-Authenticate"] = "Bearer"
            return response
        if path in self.websocket_paths:
            return None
        route = self.routes.get(path)
        if route is None:
            return text_response(f"not found: {path}\n", HTTPStatus.NOT_FOUND)
        return await route(connection, request)
