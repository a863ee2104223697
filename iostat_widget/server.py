"""The server: one hub, its transports, one port.

``serve()`` is the whole of ``iostat-widget serve`` as a library call, so the same server runs
from a shell, from a test, or embedded in a Jupyter kernel next to the widget that watches it.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Iterable
from http import HTTPStatus
from pathlib import Path
from typing import Any, Self
from urllib.parse import quote, urlsplit

from websockets.asyncio.server import Server as WebSocketServer
from websockets.asyncio.server import ServerConnection
from websockets.asyncio.server import serve as websockets_serve
from websockets.http11 import Request, Response

from . import __version__
from .aio import Service
from .hub.hub import Hub
from .schema import MAX_MESSAGE_BYTES
from .sources.line_feed import LineSource
from .sources.psutil_sampler import PsutilSampler, Sampler
from .transports.access import AccessPolicy, redacted_logger
from .transports.http_routes import Route, Router, json_response
from .transports.line_socket import LINES_PATH, LineSocket
from .transports.long_poll import LongPoll
from .transports.metrics import MetricsRoute
from .transports.static_page import StaticPage, default_page_root
from .transports.websocket import BoundedConnection, WebSocketFanout

__all__ = ["STREAM_PATH", "Server", "serve"]

log = logging.getLogger(__name__)

STREAM_PATH = "/iostat"


class Server(Service):
    """A running (or ready to run) iostat-widget server.

    Use as ``async with serve(...) as server:``, or ``server = await serve(...)`` then
    ``await server.serve_forever()``; ``await server.aclose()`` stops it and closes every socket.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8765,
        *,
        interval: float = 1.0,
        history: int = 60,
        sampler: Sampler | None = None,
        linger: float = 5.0,
        max_size: int = 4096,
        ping_interval: float | None = 20.0,
        page_root: Path | None = None,
        token: str | None = None,
        allow_origins: Iterable[str] = (),
        max_clients: int = 20_000,
        line_source: LineSource | None = None,
        line_history: int = 20,
    ) -> None:
        self.host = host
        self.requested_port = port
        self.hub = Hub(
            sampler if sampler is not None else PsutilSampler(),
            interval=interval,
            history=history,
            linger=linger,
        )
        self.fanout = WebSocketFanout(self.hub)
        self._connection_class = BoundedConnection.capped_at(64 * self.fanout.skip_above)
        self.long_poll = LongPoll(self.hub)
        self.lines = (
            LineSocket(line_source, history=line_history) if line_source is not None else None
        )
        root = page_root if page_root is not None else default_page_root()
        self.page = StaticPage(root) if root is not None else None
        routes: dict[str, Route] = {"/healthz": self._healthz, "/poll": self.long_poll.route}
        routes["/metrics"] = MetricsRoute(self.hub, self.fanout).route
        if self.page is not None:
            routes.update(self.page.routes())
        self.token = token
        guarded = frozenset({"/poll", "/", "/index.html", "/metrics"})
        self.router = Router(
            routes,
            frozenset({STREAM_PATH, LINES_PATH} if self.lines else {STREAM_PATH}),
            policy=AccessPolicy.build(token, allow_origins, max_clients),
            guarded=guarded,
            counted=frozenset({"/poll"}),
            active=lambda: self.fanout.count + self.long_poll.waiting + self._line_clients,
        )
        self._max_size = min(max_size, MAX_MESSAGE_BYTES)
        self._ping_interval = ping_interval
        self._ws_server: WebSocketServer | None = None
        self._started_at = 0.0

    # -- addresses ----------------------------------------------------------------------------
    @property
    def sockets(self) -> tuple[socket.socket, ...]:
        """The listening sockets (to read or tune their options)."""
        if self._ws_server is None:
            raise RuntimeError("server is not started")
        return tuple(self._ws_server.sockets)

    @property
    def port(self) -> int:
        """The bound port (the OS's choice when started with ``port=0``)."""
        if self._ws_server is None:
            raise RuntimeError("server is not started")
        sockname = next(iter(self._ws_server.sockets)).getsockname()
        return int(sockname[1])

    def _base(self, scheme: str) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    @property
    def url(self) -> str:
        """WebSocket URL of the sample stream, e.g. ``ws://127.0.0.1:8765/iostat``.

        With a token it ends in ``?token=…``: the URL is what a client needs, nothing more.
        """
        return self._base("ws") + STREAM_PATH + self._token_query

    @property
    def line_url(self) -> str:
        """WebSocket URL of the ``/lines`` stream (with ``?token=…`` when there is a token)."""
        if self.lines is None:
            raise RuntimeError("this server has no line source")
        return self._base("ws") + LINES_PATH + self._token_query

    @property
    def page_url(self) -> str:
        """URL of the browser dashboard (with ``?token=…`` when there is a token)."""
        return self._base("http") + "/" + self._token_query

    @property
    def _token_query(self) -> str:
        return f"?token={quote(self.token)}" if self.token else ""

    @property
    def http_url(self) -> str:
        """Base HTTP URL of the same port: the page at ``/``, ``/healthz``, ``/poll``."""
        return self._base("http")

    # -- routes -------------------------------------------------------------------------------
    async def _healthz(self, connection: ServerConnection, request: Request) -> Response:
        return json_response(
            {
                "status": "ok",
                "version": __version__,
                "clients": self.fanout.count,
                "polling": self.long_poll.waiting,
                "seq": self.hub.seq,
                "interval": self.hub.interval,
                "sampling": self.hub.sampling,
                "uptime": round(time.monotonic() - self._started_at, 3),
                "skipped": self.fanout.skipped,
                "dropped": self._connection_class.dropped,
                "errors": self.hub.errors,
                "denied": self.router.denied,
            },
            HTTPStatus.OK,
        )

    # -- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> Self:
        """Bind the port and start accepting clients; sampling starts with the first client."""
        if self._ws_server is not None:
            return self
        self._ws_server = await websockets_serve(
            self._handler,
            self.host,
            self.requested_port,
            process_request=self.router.process_request,
            compression=None,  # samples are tiny; deflate would cost CPU per client per sample
            max_size=self._max_size,
            ping_interval=self._ping_interval,
            ping_timeout=self._ping_interval,
            close_timeout=1.0,  # a client that does not read must not hold up a shutdown
            create_connection=self._connection_class,
            logger=redacted_logger("websockets.server"),
        )
        self._started_at = time.monotonic()
        try:
            await self._start_sources()
        except BaseException:
            await self.aclose()
            raise
        log.info("serving %s", self._base("ws") + STREAM_PATH)
        return self

    async def serve_forever(self) -> None:
        """Serve until cancelled, then close."""
        if self._ws_server is None:
            await self.start()
        try:
            await asyncio.Future()
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Stop sampling, close every connection and the listening socket."""
        await self.hub.aclose()
        await self._stop_sources()
        server, self._ws_server = self._ws_server, None
        if server is not None:
            server.close()
            await server.wait_closed()

    # -- what a command source or /lines adds --------------------------------------------------
    @property
    def _line_clients(self) -> int:
        return len(self.lines.connections) if self.lines is not None else 0

    async def _handler(self, connection: ServerConnection) -> None:
        request = connection.request
        path = urlsplit(request.path).path if request is not None else ""
        if self.lines is not None and path == LINES_PATH:
            await self.lines.handler(connection)
        else:
            await self.fanout.handler(connection)

    async def _start_sources(self) -> None:
        # A sampler backed by a child process (CommandSampler) runs from start to close.
        start = getattr(self.hub.sampler, "start", None)
        if start is not None:
            await start()
        if self.lines is not None:
            await self.lines.start()

    async def _stop_sources(self) -> None:
        if self.lines is not None:
            await self.lines.aclose()
        aclose = getattr(self.hub.sampler, "aclose", None)
        if aclose is not None:
            await aclose()


def serve(
    host: str = "127.0.0.1",
    port: int = 8765,
    *,
    interval: float = 1.0,
    history: int = 60,
    sampler: Sampler | None = None,
    **options: Any,
) -> Server:
    """Create the server: ``async with serve(port=0) as server: print(server.url)``.

    ``interval`` is seconds between samples, ``history`` how many recent samples a new client
    receives first, ``sampler`` replaces the psutil source (anything with ``prime``/``sample``).
    Binds 127.0.0.1 unless told otherwise; ``port=0`` lets the OS choose. Further options:
    ``token`` (required on the stream, /poll and the page), ``allow_origins`` (origins besides
    the server's own that browsers may connect from; ``"*"`` for any), ``max_clients``,
    ``page_root`` (folder of the browser page), ``linger``, ``max_size``, ``ping_interval``,
    ``line_source`` (a :class:`~iostat_widget.sources.line_feed.LineSource` streamed at
    ``/lines``) and ``line_history`` (lines a new ``/lines`` client receives first).
    """
    return Server(host, port, interval=interval, history=history, sampler=sampler, **options)
