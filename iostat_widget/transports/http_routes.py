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
    """Maps request paths to HTTP routes; ``websocket_paths`` go on to the handshake."""

    def __init__(self, routes: Mapping[str, Route], websocket_paths: frozenset[str]) -> None:
        self.routes = dict(routes)
        self.websocket_paths = websocket_paths

    async def process_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        """websockets ``process_request`` hook."""
        path = urlsplit(request.path).path
        if path in self.websocket_paths:
            return None
        route = self.routes.get(path)
        if route is None:
            return text_response(f"not found: {path}\n", HTTPStatus.NOT_FOUND)
        return await route(connection, request)
