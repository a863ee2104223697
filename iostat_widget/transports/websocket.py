"""WebSocket fan-out: the live path from the hub to every connected client.

Each sample is encoded once by the hub and pushed with ``websockets.broadcast`` (one write per
client, no per-client task). A client whose socket stops draining is skipped, not waited for: its
write buffer is capped at ``skip_above`` bytes, so a stalled reader costs bounded memory and never
delays anyone else; websockets' keepalive ping then closes it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, broadcast
from websockets.exceptions import ConnectionClosed

from ..hub.hub import Frame, Hub

__all__ = ["BoundedConnection", "WebSocketFanout"]

log = logging.getLogger(__name__)


class BoundedConnection(ServerConnection):
    """A connection cut off as soon as ``write_cap`` bytes wait for a client that does not read.

    Samples stop at ``skip_above``, but websockets answers every ping with a pong whatever is
    already queued: a client flooding pings without reading would grow the buffer without end.
    Checked right after each read, so the overshoot is at most one read's worth of pongs.
    """

    write_cap = 1024 * 1024
    dropped = 0  #: connections cut off, across the server (a class of its own per server)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        buffered = self.transport.get_write_buffer_size()
        if buffered > self.write_cap:
            type(self).dropped += 1
            log.warning("dropping a client with %d bytes queued that it does not read", buffered)
            self.transport.abort()

    @classmethod
    def capped_at(cls, write_cap: int) -> type[BoundedConnection]:
        """A subclass of its own (its own cap, its own count) for one server."""
        return type("BoundedConnection", (cls,), {"write_cap": write_cap, "dropped": 0})


class WebSocketFanout:
    """Serves ``/iostat``: recent history on connect, then every new sample as it is taken.

    ``/iostat?detail=1`` adds each disk's and interface's rates (``disks``, ``nics``) to every
    sample; plain subscribers get the lean sample.
    """

    def __init__(self, hub: Hub, *, skip_above: int = 16 * 1024) -> None:
        self.hub = hub
        self.skip_above = skip_above
        self.plain: set[ServerConnection] = set()  #: live subscribers of the lean stream
        self.detailed: set[ServerConnection] = set()  #: those that asked for ``?detail=1``
        self.skipped = 0  #: samples not written to a client whose buffer was full
        self.ignored = 0  #: messages clients sent that the server does not expect
        hub.add_listener(self._broadcast)

    @property
    def connections(self) -> set[ServerConnection]:
        """Every live subscriber (a new set: for reading, not for the hot path)."""
        return self.plain | self.detailed

    @property
    def count(self) -> int:
        """How many subscribers are live."""
        return len(self.plain) + len(self.detailed)

    def _ready(self, connections: set[ServerConnection]) -> Iterator[ServerConnection]:
        # Lazily, so the first client's write starts at once instead of after a pass over all.
        for connection in connections:
            transport = connection.transport
            if transport is not None and transport.get_write_buffer_size() <= self.skip_above:
                yield connection
            else:
                self.skipped += 1

    def _broadcast(self, frame: Frame) -> None:
        broadcast(self._ready(self.plain), frame.payload)
        if self.detailed:
            broadcast(self._ready(self.detailed), frame.detail)

    async def _send_history(self, connection: ServerConnection, detail: bool) -> None:
        # Send what the ring holds, then whatever arrived meanwhile, until caught up; the caller
        # joins the live set with no await in between, so no sample is missed or sent twice.
        last = -1
        while frames := self.hub.history_after(last):
            for frame in frames:
                await connection.send(frame.detail if detail else frame.payload)
                last = frame.seq

    async def handler(self, connection: ServerConnection) -> None:
        """websockets connection handler for the sample stream."""
        self.hub.acquire()
        request = connection.request
        query = parse_qs(urlsplit(request.path).query) if request is not None else {}
        detail = query.get("detail", ["0"])[-1] not in ("", "0", "false")
        try:
            await self._send_history(connection, detail)
            (self.detailed if detail else self.plain).add(connection)
            async for _ in connection:  # keep reading so close frames and pongs are processed
                self.ignored += 1
        except ConnectionClosed:
            pass  # a client leaving mid-send is normal
        finally:
            self.plain.discard(connection)
            self.detailed.discard(connection)
            self.hub.release()
