"""The never-ending HTTP response: each new line as a chunk, flushed, for as long as it is read.

This is the oldest way to push live data to a browser (``tail -F`` over HTTP), the transport of
:class:`~iostat_widget.tail_server.TailServer`: tornado request handlers that check the access
policy, then write what the client's :class:`~iostat_widget.hub.line_fanout.LineSubscriber`
queue holds, in batches, until the client or the server goes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from tornado.http1connection import HTTP1Connection
from tornado.iostream import StreamClosedError
from tornado.web import RequestHandler

from ..hub.line_fanout import LineFanout, LineSubscriber
from .access import AccessPolicy

__all__ = ["STREAM_HEADERS", "HealthHandler", "StreamHandler", "log_request"]

log = logging.getLogger(__name__)

STREAM_HEADERS = {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}
STREAM_HEADERS |= {"X-Content-Type-Options": "nosniff", "X-Accel-Buffering": "no"}  # no proxy hold


def log_request(handler: RequestHandler) -> None:
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


class StreamHandler(_GuardedHandler):
    """``GET /``: the never-ending response, one chunk and flush per batch of lines."""

    def initialize(self, policy: AccessPolicy, fanout: LineFanout) -> None:  # type: ignore[override]
        super().initialize(policy)
        self._fanout = fanout
        self._client: LineSubscriber | None = None

    async def get(self) -> None:
        for name, value in STREAM_HEADERS.items():
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


class HealthHandler(RequestHandler):
    """``GET /healthz``: a small JSON status for probes and tests."""

    def initialize(self, status: Callable[[], dict[str, object]]) -> None:
        self._status = status

    def get(self) -> None:
        self.set_header("Cache-Control", "no-store")
        self.write(self._status())
