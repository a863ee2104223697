"""A byte-counting TCP proxy on loopback: bytes on the wire as a socket sees them.

Counting at the socket, not in the client or server, includes everything an application would
pay for: WebSocket frame headers, HTTP request and response headers, chunking. It does not
include TCP/IP headers, which are the same per packet for every transport and depend on how the
kernel batches writes; the report says so.
"""

from __future__ import annotations

import asyncio
import contextlib

__all__ = ["CountingProxy"]

_CHUNK = 65536


class CountingProxy:
    """Forwards 127.0.0.1:``port`` to 127.0.0.1:``target``; counts bytes each way."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.up = 0  #: client → server bytes
        self.down = 0  #: server → client bytes
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def total(self) -> int:
        return self.up + self.down

    async def start(self) -> CountingProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, up: bool
    ) -> None:
        try:
            while data := await reader.read(_CHUNK):
                if up:
                    self.up += len(data)
                else:
                    self.down += len(data)
                writer.write(data)
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()
        except (ConnectionError, OSError):
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, up_writer))
        try:
            await asyncio.gather(
                self._pump(reader, up_writer, True), self._pump(up_reader, writer, False)
            )
        finally:
            for w in (writer, up_writer):
                self._writers.discard(w)
                w.close()
                with contextlib.suppress(ConnectionError, OSError):
                    await w.wait_closed()

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            await self._server.wait_closed()
