"""``tail -F`` over HTTP: every client gets one never-ending ``text/plain`` response of new lines.

This is the oldest way to push live data to a browser: keep the response open, send each line as
an HTTP/1.1 chunk and flush. One follower per server reads the file (as the first such servers
ran one ``tail`` child for everyone) and fans lines out through a bounded queue per client, so a
client that stops reading is dropped instead of growing the server's memory or delaying others.
The file is fixed at start-up; no request can name another one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Self
from urllib.parse import quote

from tornado.http1connection import HTTP1Connection
from tornado.httpserver import HTTPServer
from tornado.iostream import StreamClosedError
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler

from ..aio import Service
from ..hub.line_fanout import CLIENT_BUFFER, LineFanout, LineSubscriber
from ..sources.tail import DEFAULT_POLL_INTERVAL, follow
from .access import AccessPolicy

__all__ = ["TailServer", "configure_tail_parser", "run_tail"]

log = logging.getLogger(__name__)

_STREAM_HEADERS = {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}
_STREAM_HEADERS |= {"X-Content-Type-Options": "nosniff", "X-Accel-Buffering": "no"}  # no proxy hold
USAGE = "usage: iostat-widget tail [--host HOST] [--port PORT] [--backlog N] [--poll SECONDS] FILE"


def _log_request(handler: RequestHandler) -> None:
    # Like tornado's access log, without the query string: it may carry the token.
    request = handler.request
    status = handler.get_status()
    level = logging.INFO if status < 400 else logging.WARNING
    logging.getLogger("tornado.access").log(
        level, "%d %s %s (%s)", status, request.method, request.path, request.remote_ip
    )


class _GuardedHandler(RequestHandler):
    """Checks the server's access policy (token, origin) before any method runs."""

    def initialize(self, policy: AccessPolicy) -> None:
        self._policy = policy

    def prepare(self) -> None:
        headers = {
            name: value
            for name in ("origin", "host", "authorization")
            if (value := self.request.headers.get(name)) is not None
        }
        denied = self._policy.check(self.request.uri or "/", headers)
        if denied is not None:
            self.set_status(denied.status.value)
            self.set_header("Content-Type", "text/plain; charset=utf-8")
            self.finish(denied.reason + "\n")


class _StreamHandler(_GuardedHandler):
    """``GET /``: the never-ending response, one chunk and flush per batch of lines."""

    def initialize(self, policy: AccessPolicy, fanout: LineFanout) -> None:  # type: ignore[override]
        super().initialize(policy)
        self._fanout = fanout
        self._client: LineSubscriber | None = None

    async def get(self) -> None:
        for name, value in _STREAM_HEADERS.items():
            self.set_header(name, value)
        client = self._client = self._fanout.subscribe(self._close_connection)
        client.peer = str(self.request.remote_ip)
        self._fanout.active += 1
        try:
            await self.flush()  # headers at once: the client knows it is connected
            while (text := await client.take()) is not None:
                self.write(text)
                await self.flush()
        except StreamClosedError:
            pass
        finally:
            self._fanout.active -= 1
            self._fanout.unsubscribe(client)

    def on_connection_close(self) -> None:
        if self._client is not None:
            self._fanout.unsubscribe(self._client, discard=True)

    def _close_connection(self) -> None:
        # The socket itself: a pending flush then ends (HTTP1Connection.close would strand it).
        connection = self.request.connection
        if isinstance(connection, HTTP1Connection):
            connection.stream.close()


class _HealthHandler(RequestHandler):
    """``GET /healthz``: a small JSON status for probes and tests."""

    def initialize(self, server: TailServer) -> None:
        self._server = server

    def get(self) -> None:
        self.set_header("Cache-Control", "no-store")
        self.write(self._server.status())


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
        routes = [(r"/", _StreamHandler, {"policy": self._policy, "fanout": self._fanout})]
        app = Application(
            [*routes, (r"/healthz", _HealthHandler, {"server": self})],
            log_function=_log_request,
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


def configure_tail_parser(parser: argparse.ArgumentParser) -> None:
    """Add the ``tail`` command's arguments to ``parser``."""
    parser.add_argument("file", nargs="?", metavar="FILE", help="log file to follow (fixed)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to bind (default: 8000)")
    parser.add_argument("--backlog", type=int, default=10, help="lines a new client gets first")
    parser.add_argument("--poll", type=float, default=DEFAULT_POLL_INTERVAL, help="seconds")


def _checked_path(args: argparse.Namespace) -> tuple[Path, str | None]:
    """The file to serve, and what is wrong with the arguments, if anything."""
    path = Path(args.file).absolute()
    if path.is_dir():
        return path, f"{args.file} is a directory"
    if not path.parent.is_dir():
        return path, f"directory of {args.file} does not exist"
    if args.backlog < 0 or not args.poll > 0:
        return path, "--backlog must be >= 0 and --poll > 0"
    return path, None


async def run_tail(args: argparse.Namespace) -> int:
    """Serve ``args.file`` until SIGINT/SIGTERM; 0 when stopped, 2 on bad arguments."""
    if args.file is None:
        print(USAGE, file=sys.stderr)
        return 2
    path, problem = _checked_path(args)
    if problem is not None:
        print(f"iostat-widget tail: error: {problem}", file=sys.stderr)
        return 2
    server = TailServer(
        path,
        args.host,
        args.port,
        args.backlog,
        poll_interval=args.poll,
        token=getattr(args, "token", None),
    )
    try:
        await server.start()
    except OSError as exc:
        print(f"iostat-widget tail: cannot listen: {exc}", file=sys.stderr)
        await server.aclose()
        return 1
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not on every platform
            loop.add_signal_handler(sig, server._stop.set)  # serve_forever returns
            handled.append(sig)
    try:
        print(f"tailing {args.file} at {server.url}", flush=True)
        await server.serve_forever()  # raises if following the file failed
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)
        await server.aclose()
    return 0
