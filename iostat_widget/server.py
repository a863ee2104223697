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
from pathlib import Path
from typing import Self
from urllib.parse import quote, urlsplit

from websockets.asyncio.server import Server as WebSocketServer
from websockets.asyncio.server import ServerConnection
from websockets.asyncio.server import serve as websockets_serve

from ._version import __version__
from .aio import Service
from .hub.hub import Hub
from .hub.line_hub import LineHub
from .redaction import redacted_logger
from .schema import MAX_MESSAGE_BYTES
from .sources.base import Sampler, lifecycle_of
from .sources.line_feed import LineSource
from .sources.top_processes import TopSampler
from .transports.access import AccessPolicy
from .transports.endpoint import Endpoint
from .transports.health import Health
from .transports.http_routes import Router
from .transports.line_socket import LINES_PATH, LineSocket
from .transports.long_poll import LongPoll
from .transports.metrics import Metrics
from .transports.static_page import StaticPage, default_page_root
from .transports.websocket import STREAM_PATH, SampleSocket

__all__ = ["STREAM_PATH", "Server", "serve"]

log = logging.getLogger(__name__)


class Server(Service):
    """A running (or ready to run) iostat-widget server; :data:`serve` is the same class.

    Use as ``async with serve(...) as server:``, or ``server = await serve(...)`` then
    ``await server.serve_forever()``; ``await server.aclose()`` stops it and closes every socket.

    Sampling: ``interval`` is seconds between samples, ``history`` how many recent samples a
    new client receives first, ``sampler`` replaces the psutil source (anything with
    ``prime()`` and ``sample(seq)``; one with ``start()``/``aclose()`` too is started and
    closed with the server), ``linger`` how many seconds sampling goes on after the last client
    leaves; ``top`` replaces the busy table's reader of every process (a
    :class:`~iostat_widget.sources.top_processes.TopSampler`), used only while some viewer asks
    for the table (``/iostat?top=N``).

    Access: binds 127.0.0.1 unless told otherwise; ``port=0`` lets the OS choose. ``token`` is
    required (``?token=`` or ``Authorization: Bearer``) on every data endpoint (the stream,
    ``/lines``, ``/poll``, ``/metrics``, the page's index); ``allow_origins`` lists the origins
    besides the server's own that browsers may connect from (``"*"`` for any);
    ``max_clients`` caps viewers (WebSocket and long-poll clients; more get 503).

    Connections: ``max_size`` is the largest message (bytes) a client may send,
    ``ping_interval`` the keepalive period in seconds (``None``: none); ``compact`` whether the
    stream's compact form is offered (subprotocol ``iostat.compact.v1``, see
    :mod:`~iostat_widget.compact`; off, every viewer gets JSON objects as before).

    Also served: ``page_root`` is the folder of the browser page (default: the packaged one);
    ``line_source`` (a :class:`~iostat_widget.sources.line_feed.LineSource`) is streamed at
    ``/lines``, a newcomer receiving its last ``line_history`` lines first.

    Binding happens on ``start()`` (or ``async with``), which raises ``OSError`` when the port
    cannot be bound, and whatever a sampler's or line source's ``start()`` raises (e.g.
    :class:`~iostat_widget.sources.child.CommandNotFoundError`).

    Raises:
        ValueError: a non-positive ``interval``, ``history`` below 1, ``line_history`` below 0,
            a token shorter than 8 characters, an origin that is not ``scheme://host[:port]``,
            or ``max_clients`` below 1.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8765,
        *,
        # what is sampled, and how often
        interval: float = 1.0,
        history: int = 60,
        sampler: Sampler | None = None,
        linger: float = 5.0,
        top: TopSampler | None = None,
        # who may connect
        token: str | None = None,
        allow_origins: Iterable[str] = (),
        max_clients: int = 20_000,
        # the connections
        max_size: int = 4096,
        ping_interval: float | None = 20.0,
        # what else the port serves
        page_root: Path | None = None,
        line_source: LineSource | None = None,
        line_history: int = 20,
        compact: bool = True,
    ) -> None:
        self.host = host
        self.requested_port = port
        self.hub = Hub(
            sampler if sampler is not None else _default_sampler(),
            interval=interval,
            history=history,
            linger=linger,
            top=top,
        )
        self._sampler_lifecycle = lifecycle_of(self.hub.sampler)
        self.fanout = SampleSocket(self.hub, compact=compact)
        self.long_poll = LongPoll(self.hub)
        self.metrics = Metrics(self.hub, self.fanout)
        self.lines = (
            LineSocket(LineHub(line_source, history=line_history))
            if line_source is not None
            else None
        )
        root = page_root if page_root is not None else default_page_root()
        self.page = StaticPage(root) if root is not None else None
        self.token = token
        policy = AccessPolicy.build(token, allow_origins, max_clients)
        endpoints: list[Endpoint] = [
            self.fanout,
            self.long_poll,
            self.metrics,
            Health(self._health, policy.origin_ok),
        ]
        if self.lines is not None:
            endpoints.append(self.lines)
        if self.page is not None:
            endpoints.extend(self.page.endpoints())
        self.router = Router(endpoints, policy)
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
        """Base HTTP URL of the port: the page at ``/``, ``/healthz``, ``/poll``, ``/metrics``."""
        return self._base("http")

    # -- health -------------------------------------------------------------------------------
    def _health(self) -> dict[str, object]:
        report: dict[str, object] = {
            "version": __version__,
            "token_required": self.token is not None,
            "seq": self.hub.seq,
            "interval": self.hub.interval,
            "sampling": self.hub.sampling,
            "uptime": round(time.monotonic() - self._started_at, 3),
            "errors": self.hub.errors,
            "denied": self.router.denied,
        }
        for endpoint in self.router.endpoints:
            report.update(endpoint.status())
        return report

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
            select_subprotocol=self.router.select_subprotocol,
            compression=None,  # samples are tiny; deflate would cost CPU per client per sample
            max_size=self._max_size,
            ping_interval=self._ping_interval,
            ping_timeout=self._ping_interval,
            close_timeout=1.0,  # a client that does not read must not hold up a shutdown
            create_connection=self.fanout.connection_class,
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

    # -- connections and what the endpoints own -----------------------------------------------
    async def _handler(self, connection: ServerConnection) -> None:
        request = connection.request
        path = urlsplit(request.path).path if request is not None else ""
        endpoint = self.router.endpoint(path)
        if endpoint is not None:  # the router let the handshake through for this path only
            await endpoint.handler(connection)

    async def _start_sources(self) -> None:
        await self._sampler_lifecycle.start()  # e.g. the iostat child process, start to close
        for endpoint in self.router.endpoints:
            await endpoint.start()

    async def _stop_sources(self) -> None:
        for endpoint in self.router.endpoints:
            await endpoint.aclose()
        await self._sampler_lifecycle.aclose()


def _default_sampler() -> Sampler:
    from .sources.psutil_sampler import PsutilSampler

    return PsutilSampler()


serve = Server
"""``serve(...)`` makes a :class:`Server`, the way websockets' ``serve`` is its server's class:
``async with serve(port=0) as server: print(server.url)``."""
