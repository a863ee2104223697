"""``/iostat``: the live path from the hub to every connected viewer, over WebSocket.

Each sample is encoded once by the hub and broadcast with its history (see :mod:`.broadcast`):
one write per client, no per-client task; a client whose socket stops draining is skipped, not
waited for, and one that floods pings without reading is cut off (:class:`BoundedConnection`).
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from ..hub.hub import EncodedSample, Hub
from .broadcast import Broadcast
from .endpoint import Endpoint
from .top_query import asked_top, top_refusal, wants_detail

__all__ = ["STREAM_PATH", "BoundedConnection", "SampleSocket"]

log = logging.getLogger(__name__)

STREAM_PATH = "/iostat"


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


class SampleSocket(Endpoint):
    """Serves ``/iostat``: recent history on connect, then every new sample as it is taken.

    ``/iostat?detail=1`` adds each disk's and interface's rates (``disks``, ``nics``) to every
    sample; ``/iostat?top=N`` (1 to 25) adds the busy table (``top``: the busiest processes over
    the interval, the largest ``N`` any viewer asks for, encoded once per tick by the hub and read
    only while such a viewer is connected); plain subscribers get the lean sample and cost no
    process reading. A bad ``top``, or ``top`` with ``detail=1``, is a 400 before the handshake
    (see :mod:`.top_query`). A viewer endpoint, guarded.
    """

    viewer = True
    websocket = True

    def __init__(self, hub: Hub, *, skip_above: int = 16 * 1024) -> None:
        super().__init__(frozenset({STREAM_PATH}))
        self.hub = hub
        self.lean = Broadcast(skip_above)  #: subscribers of the lean stream
        self.detail = Broadcast(skip_above)  #: those that asked for ``?detail=1``
        self.top = Broadcast(skip_above)  #: those that asked for ``?top=N``
        self.connection_class = BoundedConnection.capped_at(64 * skip_above)
        hub.add_listener(self._broadcast)

    @property
    def skip_above(self) -> int:
        """Bytes queued for a client past which samples skip it."""
        return self.lean.skip_above

    @skip_above.setter
    def skip_above(self, value: int) -> None:
        self.lean.skip_above = self.detail.skip_above = self.top.skip_above = value

    @property
    def connections(self) -> set[ServerConnection]:
        """Every live subscriber (a new set: for reading, not for the hot path)."""
        return self.lean.connections | self.detail.connections | self.top.connections

    @property
    def count(self) -> int:
        """How many subscribers are live."""
        return sum(len(group.connections) for group in (self.lean, self.detail, self.top))

    @property
    def clients(self) -> int:
        """How many subscribers are live (the count the client cap is held against)."""
        return self.count

    @property
    def skipped(self) -> int:
        """Samples not written to a client whose buffer was full."""
        return self.lean.skipped + self.detail.skipped + self.top.skipped

    @property
    def ignored(self) -> int:
        """Messages clients sent, which the server does not expect."""
        return self.lean.ignored + self.detail.ignored + self.top.ignored

    def status(self) -> dict[str, int]:
        """``clients``, ``skipped`` and ``dropped`` (connections cut off for not reading)."""
        return {
            "clients": self.count,
            "skipped": self.skipped,
            "dropped": self.connection_class.dropped,
        }

    def _broadcast(self, encoded: EncodedSample) -> None:
        self.lean.send(encoded.lean)
        self.detail.send(encoded.detail)
        self.top.send(encoded.top or encoded.lean)  # no table: a reading that failed

    def refuse(self, request: Request) -> Response | None:
        """A 400 for a ``top`` that is not 0 to 25, or asked with ``detail=1``."""
        return top_refusal(request)

    def _lean_after(self, seq: int) -> list[tuple[int, str]]:
        return [(kept.seq, kept.lean) for kept in self.hub.history_after(seq)]

    def _detail_after(self, seq: int) -> list[tuple[int, str]]:
        return [(kept.seq, kept.detail) for kept in self.hub.history_after(seq)]

    def _top_after(self, seq: int) -> list[tuple[int, str]]:
        return [(kept.seq, kept.top or kept.lean) for kept in self.hub.history_after(seq)]

    async def handler(self, connection: ServerConnection) -> None:
        """websockets connection handler for the sample stream."""
        request = connection.request
        query = parse_qs(urlsplit(request.path).query) if request is not None else {}
        top = asked_top(query)  # checked before the handshake (refuse)
        self.hub.acquire()
        if top:
            self.hub.acquire_top(top)
        try:
            if top:
                await self.top.serve(connection, self._top_after)
            elif wants_detail(query):
                await self.detail.serve(connection, self._detail_after)
            else:
                await self.lean.serve(connection, self._lean_after)
        finally:
            if top:
                self.hub.release_top(top)
            self.hub.release()
