"""Two ways to read a never-ending HTTP response, the difference the course starts from.

:func:`fetch_whole` is the client most page scripts of the time used: it hands the response over
only once it is complete, so on a stream that never ends it hands over nothing, however many
bytes arrived. :func:`read_lines` hands each line over as its chunk arrives, stamping the arrival
time, which is what lets the course measure how late a line is on the wire and in the page.
Both are bounded by a time limit and use tornado's HTTP code (no HTTP parsing here).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from tornado.http1connection import HTTP1Connection, HTTP1ConnectionParameters
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPResponse
from tornado.httputil import HTTPHeaders, HTTPMessageDelegate, RequestStartLine, ResponseStartLine
from tornado.iostream import StreamClosedError
from tornado.tcpclient import TCPClient

__all__ = ["Arrival", "LineRead", "WholeResponse", "fetch_whole", "read_lines"]


@dataclass(frozen=True)
class WholeResponse:
    """What a wait-for-the-whole-response client got: the body only if the response ended."""

    completed: bool
    status: int  #: 599 when the client gave up (tornado's code for "no response")
    error: str | None
    waited: float  #: seconds from request to giving up or completion
    body: bytes


@dataclass(frozen=True)
class Arrival:
    """One line and the wall-clock time (``time.time()``) its last byte reached the client."""

    text: str
    arrived: float


@dataclass
class LineRead:
    """Lines read from a streaming response, and how the read ended."""

    started: float  #: ``time.time()`` when the request was sent
    ended: float = 0.0  #: ``time.time()`` when the read ended (count reached, timeout, close)
    status: int = 0
    completed: bool = False  #: the server ended the response by itself
    lines: list[Arrival] = field(default_factory=list)


class _LineCollector(HTTPMessageDelegate):
    """Splits the body into lines as chunks arrive; sets ``enough`` after ``count`` lines."""

    def __init__(self, read: LineRead, count: int | None) -> None:
        self.read, self.count = read, count
        self.pending = bytearray()
        self.enough = asyncio.Event()

    def headers_received(
        self, start_line: RequestStartLine | ResponseStartLine, headers: HTTPHeaders
    ) -> None:
        if isinstance(start_line, ResponseStartLine):
            self.read.status = start_line.code

    def data_received(self, chunk: bytes) -> None:
        arrived = time.time()
        self.pending.extend(chunk)
        while (end := self.pending.find(b"\n")) >= 0:
            text = self.pending[:end].decode("utf-8", errors="replace")
            del self.pending[: end + 1]
            self.read.lines.append(Arrival(text, arrived))
        if self.count is not None and len(self.read.lines) >= self.count:
            self.enough.set()

    def finish(self) -> None:
        self.read.completed = True
        self.enough.set()

    def on_connection_close(self) -> None:
        self.enough.set()


async def fetch_whole(url: str, *, limit: float) -> WholeResponse:
    """GET ``url`` and wait for the complete response, giving up after ``limit`` seconds."""
    client = AsyncHTTPClient(force_instance=True)
    started = time.monotonic()
    try:
        response: HTTPResponse = await client.fetch(url, request_timeout=limit, raise_error=False)
    except HTTPClientError as err:  # 599: timed out, or the connection failed
        return WholeResponse(False, err.code, str(err), time.monotonic() - started, b"")
    finally:
        client.close()
    return WholeResponse(True, response.code, None, time.monotonic() - started, response.body)


async def read_lines(url: str, *, limit: float, count: int | None = None) -> LineRead:
    """GET ``url`` and collect each line as it arrives, until ``count`` lines or ``limit`` s.

    Uses tornado's HTTP/1.1 connection directly (its parser, chunked decoding included), so the
    read can be ended at any moment by closing the socket.
    """
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname is None:
        raise ValueError(f"not an http:// URL: {url!r}")
    read = LineRead(started=time.time())
    collector = _LineCollector(read, count)
    stream = await TCPClient().connect(parts.hostname, parts.port or 80)
    reading: asyncio.Future[bool] | None = None
    try:
        connection = HTTP1Connection(stream, True, HTTP1ConnectionParameters())
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        headers = HTTPHeaders({"Host": parts.netloc, "Connection": "close"})
        await connection.write_headers(RequestStartLine("GET", target, "HTTP/1.1"), headers)
        connection.finish()
        reading = asyncio.ensure_future(connection.read_response(collector))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(collector.enough.wait(), limit)
    finally:
        stream.close()
    if reading is not None:
        with contextlib.suppress(StreamClosedError):
            await reading
    read.ended = time.time()
    return read
