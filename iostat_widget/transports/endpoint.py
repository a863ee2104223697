"""What every path the server answers is: an endpoint, token-guarded unless it says otherwise.

The server composes a list of endpoints; :class:`~.http_routes.Router` maps paths to them and
applies the :class:`~.access.AccessPolicy` before any of them runs. An endpoint is guarded by
default (the token and the Origin check), so a new endpoint that forgets to think about access is
refused to strangers, never served to them. Only what carries no data about the machine says
``public = True`` (the page's scripts and styles, the health check).

A new transport is one module with one ``Endpoint`` subclass, and one entry in the server's list.
"""

from __future__ import annotations

from collections.abc import Sequence

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

__all__ = ["Endpoint"]


class Endpoint:
    """One thing the server answers, at the paths in :attr:`paths`.

    Class attributes a subclass may change:

    - ``public``: carries no data, so it is answered without the token and whatever the
      ``Origin`` (default ``False``: guarded).
    - ``viewer``: each client counts against the server's ``max_clients`` (default ``False``).
    - ``websocket``: the request goes on to the WebSocket handshake and :meth:`handler` serves
      the connection; otherwise :meth:`respond` answers it over plain HTTP.
    """

    public: bool = False
    viewer: bool = False
    websocket: bool = False

    def __init__(self, paths: frozenset[str]) -> None:
        self.paths = paths  #: request paths (no query) this endpoint answers

    @property
    def clients(self) -> int:
        """Clients being served now (connections, waiting requests)."""
        return 0

    def status(self) -> dict[str, int]:
        """Counters for the health check, keyed by name."""
        return {}

    def subprotocol(self, request: Request, offered: Sequence[str]) -> str | None:
        """The WebSocket subprotocol to speak, among those the client ``offered`` (its
        ``Sec-WebSocket-Protocol``, in its order); ``None`` (the default) speaks none, whatever
        the client offered."""
        return None

    def refuse(self, request: Request) -> Response | None:
        """A WebSocket endpoint's answer to a request it will not serve (a bad query), sent
        instead of the handshake; ``None`` (the default) lets the handshake go ahead."""
        return None

    async def respond(self, connection: ServerConnection, request: Request) -> Response:
        """Answer one plain HTTP request (endpoints that are not WebSocket ones)."""
        raise NotImplementedError(f"{type(self).__name__} answers no plain HTTP request")

    async def handler(self, connection: ServerConnection) -> None:
        """Serve one WebSocket connection (WebSocket endpoints)."""
        raise NotImplementedError(f"{type(self).__name__} serves no WebSocket")

    async def start(self) -> None:
        """Start what the endpoint owns (e.g. a line source) when the server starts."""

    async def aclose(self) -> None:
        """Stop what :meth:`start` started."""
