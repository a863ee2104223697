"""A minimal RFC 6455 client (handshake, unmasked server frames, pong, close) for the swarm.

With ten thousand viewers on a 2-core machine, the viewers' own parsing is most of the CPU a
fan-out run uses, and it lands in the measured latency. This client does the least a conforming
client must: one ``data_received`` per read, frames cut out of a bytearray, pings answered (the
servers drop viewers that do not answer within 20 s). Both servers are measured with it.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
import time
from collections.abc import Callable
from urllib.parse import urlsplit

__all__ = ["RawClient", "open_raw"]

OnMessage = Callable[[bytes, float], None]


class RawClient(asyncio.Protocol):
    """One WebSocket connection; ``on_message(payload, receive_time)`` per text frame."""

    def __init__(self, request: bytes, on_message: OnMessage) -> None:
        self.request = request
        self.on_message = on_message
        self.transport: asyncio.Transport | None = None
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._buffer = bytearray()
        self._upgraded = False
        self.subprotocol: str | None = None  #: what the server selected, if anything

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.time()
        buffer = self._buffer
        buffer += data
        if not self._upgraded:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buffer[:end]).split(b"\r\n")
            del buffer[: end + 4]
            if b" 101 " not in head[0]:
                self._fail(f"handshake refused: {head[0].decode(errors='replace')}")
                return
            for line in head[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"sec-websocket-protocol":
                    self.subprotocol = value.strip().decode()
            self._upgraded = True
            self.opened.set_result(None)
        while len(buffer) >= 2:
            opcode, length = buffer[0] & 0x0F, buffer[1] & 0x7F
            start = 2
            if length == 126:
                if len(buffer) < 4:
                    return
                length, start = struct.unpack_from("!H", buffer, 2)[0], 4
            elif length == 127:
                if len(buffer) < 10:
                    return
                length, start = struct.unpack_from("!Q", buffer, 2)[0], 10
            if len(buffer) < start + length:
                return
            payload = bytes(buffer[start : start + length])
            del buffer[: start + length]
            if opcode == 0x1:
                self.on_message(payload, now)
            elif opcode == 0x9:
                self._send(0xA, payload)  # pong
            elif opcode == 0x8:
                self._send(0x8, payload[:2])
                self._fail("server closed the connection")
                return

    def _send(self, opcode: int, payload: bytes) -> None:
        # Client frames must be masked (RFC 6455 5.3); control payloads are under 126 bytes.
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        if self.transport is not None:
            self.transport.write(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)

    def _fail(self, reason: str) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(reason))
        if not self.closed.done():
            self.closed.set_result(reason)
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(f"connection lost: {exc}" if exc else "connection lost")

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


async def open_raw(
    url: str, on_message: OnMessage, limit: float, subprotocol: str | None = None
) -> RawClient:
    """Connect and complete the opening handshake within ``limit`` seconds, offering
    ``subprotocol`` if given (``client.subprotocol`` says whether the server took it)."""
    offer = f"Sec-WebSocket-Protocol: {subprotocol}\r\n" if subprotocol else ""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"{offer}\r\n"
    ).encode()
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(limit):
        _, client = await loop.create_connection(lambda: RawClient(request, on_message), host, port)
        try:
            await client.opened
        except BaseException:
            client.abort()
            raise
    return client
