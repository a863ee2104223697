"""A byte-counting TCP proxy on 127.0.0.1: how the course weighs each transport on the wire.

Overhead worked out on paper is easy to get wrong: which headers a client really sends, how a
chunk or a frame is framed, whether a client masks its frames. Placed between a client and a
server, this proxy counts every byte in each direction, headers and framing included, per
connection and in total. With ``delay`` it holds every chunk that many seconds before passing it
on (each way, order kept), so loopback behaves like a network slower than the sample interval.
``capture`` keeps the first bytes of each connection so a frame or a chunk can be decoded.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Self

from ..aio import Service, cancel_and_wait

__all__ = ["ConnectionCount", "CountingProxy", "Counts"]

Direction = Literal["up", "down"]

_READ_SIZE = 64 * 1024
_QUEUE_CHUNKS = 256  # chunks held back by ``delay`` before reading from the source pauses


@dataclass
class ConnectionCount:
    """Bytes through one proxied connection; ``up`` is client → server, ``down`` the reverse."""

    number: int
    opened: float  #: ``time.monotonic()`` when the client connected
    closed: float | None = None
    up: int = 0
    down: int = 0
    head_up: bytearray = field(default_factory=bytearray)  #: first captured client bytes
    head_down: bytearray = field(default_factory=bytearray)  #: first captured server bytes


@dataclass(frozen=True)
class Counts:
    """A snapshot of the totals; subtract two snapshots to weigh what happened in between."""

    up: int = 0  #: bytes client → server
    down: int = 0  #: bytes server → client
    connections: int = 0  #: connections opened

    @property
    def total(self) -> int:
        """Bytes in both directions."""
        return self.up + self.down

    def __sub__(self, other: Counts) -> Counts:
        return Counts(
            self.up - other.up, self.down - other.down, self.connections - other.connections
        )


class CountingProxy(Service):
    """Forward ``127.0.0.1:port`` to ``target_host:target_port``, counting bytes both ways.

    ``async with CountingProxy("127.0.0.1", server.port) as proxy:`` then point clients at
    ``proxy.url_for("/poll", "http")``. ``delay`` (seconds) is added one way to every chunk in
    each direction, so a request/response round trip costs ``2 * delay``. ``capture`` is how many
    bytes of each direction of each connection to keep in :class:`ConnectionCount`.
    """

    def __init__(
        self,
        target_host: str,
        target_port: int,
        *,
        delay: float = 0.0,
        capture: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if delay < 0 or capture < 0:
            raise ValueError("delay and capture must not be negative")
        self.target_host = target_host
        self.target_port = target_port
        self.delay = delay
        self.capture = capture
        self.host = host
        self._requested_port = port
        self._server: asyncio.Server | None = None
        self._relays: set[asyncio.Task[None]] = set()
        self._connections: list[ConnectionCount] = []
        self._opened = 0
        self._up = 0
        self._down = 0

    # -- addresses and counters ---------------------------------------------------------------
    @property
    def port(self) -> int:
        """The port clients connect to."""
        if self._server is None:
            raise RuntimeError("proxy is not started")
        return int(self._server.sockets[0].getsockname()[1])

    def url_for(self, path: str = "/", scheme: str = "http") -> str:
        """``scheme://host:port/path`` through the proxy, e.g. ``url_for("/iostat", "ws")``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}{path if path.startswith('/') else '/' + path}"

    @property
    def counts(self) -> Counts:
        """Bytes forwarded so far in each direction, and connections opened (since reset)."""
        return Counts(self._up, self._down, self._opened)

    @property
    def connections(self) -> list[ConnectionCount]:
        """Every connection since the last reset, oldest first (live records, not copies)."""
        return list(self._connections)

    def reset(self) -> None:
        """Zero the totals and every open connection's counters; forget closed connections."""
        self._up = self._down = self._opened = 0
        self._connections = [record for record in self._connections if record.closed is None]
        for record in self._connections:
            record.up = record.down = 0

    # -- forwarding ---------------------------------------------------------------------------
    def _count(self, record: ConnectionCount, direction: Direction, data: bytes) -> None:
        if direction == "up":
            self._up += len(data)
            record.up += len(data)
            head = record.head_up
        else:
            self._down += len(data)
            record.down += len(data)
            head = record.head_down
        if len(head) < self.capture:
            head += data[: self.capture - len(head)]

    async def _pipe(
        self,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        record: ConnectionCount,
        direction: Direction,
        cut: Callable[[], None],
    ) -> None:
        """Copy one direction until end of stream, each chunk held ``delay`` s in a queue.

        A failed write calls ``cut`` (close both sockets, so both sources end) and the rest of
        the queue is discarded: neither side of the pipe can be left waiting on the other.
        """
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(_QUEUE_CHUNKS)

        async def deliver() -> None:
            broken = False
            while True:
                due, data = await queue.get()
                if not data:  # end of stream, passed on (after the delay) as a half-close
                    await asyncio.sleep(max(due - time.monotonic(), 0.0))
                    if not broken and sink.can_write_eof():
                        with contextlib.suppress(OSError):
                            sink.write_eof()
                    return
                if broken:
                    continue
                await asyncio.sleep(max(due - time.monotonic(), 0.0))
                try:
                    sink.write(data)
                    await sink.drain()
                except OSError:  # ConnectionResetError, BrokenPipeError: the peer is gone
                    broken = True
                    cut()
                    continue
                self._count(record, direction, data)

        deliverer = asyncio.create_task(deliver())
        try:
            while True:
                try:
                    data = await source.read(_READ_SIZE)
                except OSError:
                    data = b""
                    cut()
                await queue.put((time.monotonic() + self.delay, data))
                if not data:
                    break
            await deliverer
        finally:
            if not deliverer.done():
                await cancel_and_wait(deliverer)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # The relay runs in its own task, which aclose() cancels: cancelling the task that
        # asyncio.start_server created makes Python 3.11 log a spurious error.
        relay = asyncio.create_task(self._relay(reader, writer))
        self._relays.add(relay)
        try:
            await relay
        except asyncio.CancelledError:
            if not relay.cancelled():
                raise  # this handler itself is being cancelled
        finally:
            self._relays.discard(relay)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._opened += 1
        record = ConnectionCount(number=self._opened, opened=time.monotonic())
        self._connections.append(record)
        streams = [writer]

        def cut() -> None:
            for stream in streams:
                stream.close()

        try:
            up_reader, upstream = await asyncio.open_connection(self.target_host, self.target_port)
            streams.append(upstream)
            await asyncio.gather(
                self._pipe(reader, upstream, record, "up", cut),
                self._pipe(up_reader, writer, record, "down", cut),
            )
        except OSError:
            pass  # the target refused: the client sees its connection close
        finally:
            record.closed = time.monotonic()
            cut()

    # -- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> Self:
        """Listen on ``host:port`` (an OS-chosen port for 0)."""
        if self._server is None:
            self._server = await asyncio.start_server(self._handle, self.host, self._requested_port)
        return self

    async def aclose(self) -> None:
        """Stop listening and cut every open connection."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        relays = list(self._relays)
        for relay in relays:
            relay.cancel()
        await asyncio.gather(*relays, return_exceptions=True)
        if server is not None:
            await server.wait_closed()
