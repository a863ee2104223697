"""The tail server: ``tail -F`` of one file over HTTP, the course's first way to push live data.

Every client gets one never-ending ``text/plain`` response of new lines (the transport:
:mod:`iostat_widget.transports.http_stream`). One follower per server reads the file (as the first
such servers ran one ``tail`` child for everyone) and fans lines out through a bounded queue per
client (:mod:`iostat_widget.hub.line_fanout`), so a client that stops reading is dropped instead
of growing the server's memory or delaying others. The file is fixed at start-up; no request can
name another one. Guarded like the sample server (:mod:`iostat_widget.transports.access`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Self
from urllib.parse import quote

from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application

from .aio import Service
from .hub.line_fanout import CLIENT_BUFFER, LineFanout
from .sources.tail import DEFAULT_POLL_INTERVAL, follow
from .transports.access import AccessPolicy
from .transports.http_stream import HealthHandler, StreamHandler, log_request

__all__ = ["TailServer"]

log = logging.getLogger(__name__)


class TailServer(Service):
    """Serve the new lines of one file to every HTTP client; ``async with`` starts and stops it."""

    def __init__(
        self,
        path: str | Path,
        host: str = "127.0.0.1",
        port: int = 0,
        backlog: int = 10,
        *,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        client_buffer: int = CLIENT_BUFFER,
        token: str | None = None,
        allow_origins: Iterable[str] = (),
    ) -> None:
        if backlog < 0:
            raise ValueError(f"backlog must be >= 0, got {backlog}")
        self.path = Path(path).absolute()  # fixed now: no request can name another file
        self.host = host
        self._requested_port, self._backlog, self._poll_interval = port, backlog, poll_interval
        self._fanout = LineFanout(backlog, client_buffer)
        self.token = token
        self._policy = AccessPolicy.build(token, allow_origins)
        self._http: HTTPServer | None = None
        self._pump: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()  # set by aclose, or by a signal: serve_forever returns
        self._closing: asyncio.Future[None] | None = None
        self.port = 0  # the port actually bound, once started (the OS picks one for 0)

    @property
    def url(self) -> str:
        """Where clients connect, e.g. ``http://127.0.0.1:8000/``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        query = f"?token={quote(self.token)}" if self.token else ""
        return f"http://{host}:{self.port}/{query}"

    def status(self) -> dict[str, object]:
        """What ``/healthz`` reports: the file, connected clients, lines seen so far."""
        clients, lines = len(self._fanout.clients), self._fanout.lines
        return {"status": "ok", "file": str(self.path), "clients": clients, "lines": lines}

    async def start(self) -> Self:
        """Bind the port and start following the file."""
        routes = [(r"/", StreamHandler, {"policy": self._policy, "fanout": self._fanout})]
        app = Application(
            [*routes, (r"/healthz", HealthHandler, {"status": self.status})],
            log_function=log_request,
        )
        sockets = bind_sockets(self._requested_port, self.host)
        self.port = sockets[0].getsockname()[1]
        self._http = HTTPServer(app, max_body_size=64 * 1024)
        self._http.add_sockets(sockets)
        self._pump = asyncio.create_task(self._follow(), name=f"tail {self.path}")
        return self

    async def _follow(self) -> None:
        pieces = follow(self.path, history=self._backlog, poll_interval=self._poll_interval)
        try:
            async with contextlib.aclosing(pieces):
                async for piece in pieces:
                    self._fanout.publish(piece)
        except Exception:
            log.exception("following %s failed", self.path)
            raise

    def stop(self) -> None:
        """Make :meth:`serve_forever` return (safe from a signal handler on the loop)."""
        self._stop.set()

    async def serve_forever(self) -> None:
        """Wait until the server is closed; raise if following the file failed."""
        if self._pump is None:
            raise RuntimeError("TailServer.serve_forever() before start()")
        stop = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({stop, self._pump}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if self._pump.done() and not self._pump.cancelled():
            self._pump.result()

    async def aclose(self) -> None:
        """Stop listening, end every response cleanly, close the file (idempotent)."""
        if self._closing is None:
            self._stop.set()
            self._closing = asyncio.ensure_future(self._shutdown())
        await asyncio.shield(self._closing)

    async def _shutdown(self) -> None:
        if self._http is not None:
            self._http.stop()
        if self._pump is not None:
            self._pump.cancel()
            await asyncio.wait({self._pump})  # a failure is logged, and raised by serve_forever
        for client in list(self._fanout.clients):
            self._fanout.unsubscribe(client)
        for _ in range(100):  # let handlers write what is queued and end their responses
            if not self._fanout.active:
                break
            await asyncio.sleep(0.01)
        if self._http is not None:
            await asyncio.wait_for(self._http.close_all_connections(), timeout=5)
