"""Plain HTTP answers on the WebSocket port, through websockets' ``process_request`` hook.

One port serves the stream and its companions (health check, long poll, metrics, the page), so a
proxy or firewall needs one rule. websockets parses the request; the router finds its endpoint,
applies the access rules, and returns the endpoint's :class:`~websockets.http11.Response`, or
``None`` to let the WebSocket handshake go ahead.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from .access import AccessPolicy
from .endpoint import Endpoint

__all__ = ["Router", "bytes_response", "json_response", "text_response"]


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
    """Maps request paths to :class:`~.endpoint.Endpoint` objects, after the access rules.

    Every request to a guarded endpoint passes the :class:`AccessPolicy` first (its Origin and
    its token); a viewer endpoint's request also counts against the client cap, over every
    viewer endpoint's clients. Public endpoints are answered as they are. Two endpoints claiming
    one path is a ``ValueError``.
    """

    def __init__(self, endpoints: Sequence[Endpoint], policy: AccessPolicy | None = None) -> None:
        self.endpoints = tuple(endpoints)
        self.policy = policy if policy is not None else AccessPolicy()
        self._by_path: dict[str, Endpoint] = {}
        for endpoint in self.endpoints:
            for path in endpoint.paths:
                if path in self._by_path:
                    raise ValueError(f"two endpoints answer {path}")
                self._by_path[path] = endpoint
        self.denied = 0  #: requests refused by the policy

    def endpoint(self, path: str) -> Endpoint | None:
        """The endpoint answering ``path`` (no query), if any."""
        return self._by_path.get(path)

    @property
    def viewers(self) -> int:
        """Clients of every viewer endpoint, now."""
        return sum(endpoint.clients for endpoint in self.endpoints if endpoint.viewer)

    def select_subprotocol(
        self, connection: ServerConnection, offered: Sequence[Subprotocol]
    ) -> Subprotocol | None:
        """websockets ``select_subprotocol`` hook: the endpoint's choice (none for a path that
        has no endpoint: the request was refused before the handshake anyway)."""
        request = connection.request
        if request is None:
            return None
        try:
            endpoint = self._by_path.get(urlsplit(request.path).path)
        except ValueError:  # refused by process_request already
            return None
        if endpoint is None:
            return None
        chosen = endpoint.subprotocol(request, offered)
        return None if chosen is None or chosen not in offered else Subprotocol(chosen)

    async def process_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        """websockets ``process_request`` hook."""
        try:
            path = urlsplit(request.path).path
        except ValueError:  # e.g. "//[": websockets accepted the line, but it is no URL
            return text_response("bad request: unparsable target\n", HTTPStatus.BAD_REQUEST)
        endpoint = self._by_path.get(path)
        if endpoint is None:
            return text_response(f"not found: {path}\n", HTTPStatus.NOT_FOUND)
        headers: dict[str, str] = {}
        for name in ("origin", "host", "authorization"):
            values = request.headers.get_all(name)
            if len(values) > 1:  # which one would count? a client or proxy is broken, or probing
                return text_response(
                    f"bad request: repeated {name} header\n", HTTPStatus.BAD_REQUEST
                )
            if values:
                headers[name] = values[0]
        denied = self.policy.check(
            request.path,
            headers,
            active=self.viewers if endpoint.viewer else 0,
            guarded=not endpoint.public,
        )
        if denied is not None:
            self.denied += 1
            response = text_response(f"{denied.reason}\n", denied.status)
            if denied.status == HTTPStatus.UNAUTHORIZED:
                response.headers["WWW-Authenticate"] = "Bearer"
            return response
        if endpoint.websocket:
            return endpoint.refuse(request)
        return await endpoint.respond(connection, request)
