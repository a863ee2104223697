"""``/iostat``: the live path from the hub to every connected viewer, over WebSocket.

Each sample is encoded once by the hub, in each form someone reads, and broadcast with its
history (see :mod:`.broadcast`): one write per client, no per-client task; a client whose
socket stops draining is skipped, not waited for, and one that floods pings without reading is
cut off (:class:`BoundedConnection`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from ..compact import PROTOCOL, CompactSchema
from ..hub.hub import EncodedSample, Hub
from .broadcast import Broadcast, History
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

    The lean stream also comes in the compact form (:mod:`~iostat_widget.compact`) to a client
    that offers the subprotocol ``iostat.compact.v1`` (unless ``compact`` is false): the schema
    message first and wherever the schema changes, each sample as a JSON array. A client that
    offers nothing, or asks for ``detail=1`` or ``top=N``, gets JSON objects and no subprotocol.
    """

    viewer = True
    websocket = True

    def __init__(self, hub: Hub, *, skip_above: int = 16 * 1024, compact: bool = True) -> None:
        super().__init__(frozenset({STREAM_PATH}))
        self.hub = hub
        self.compact_enabled = compact  #: whether ``iostat.compact.v1`` is offered
        self.compact = Broadcast(skip_above)  #: subscribers of the lean stream, compact form
        self._schema: CompactSchema | None = None  # the compact schema of the last tick
        self.lean = Broadcast(skip_above)  #: subscribers of the lean stream, JSON
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
        for group in self._groups:
            group.skip_above = value

    @property
    def _groups(self) -> tuple[Broadcast, ...]:
        return (self.compact, self.lean, self.detail, self.top)

    @property
    def connections(self) -> set[ServerConnection]:
        """Every live subscriber (a new set: for reading, not for the hot path)."""
        return set().union(*(group.connections for group in self._groups))

    @property
    def count(self) -> int:
        """How many subscribers are live."""
        return sum(len(group.connections) for group in self._groups)

    @property
    def clients(self) -> int:
        """How many subscribers are live (the count the client cap is held against)."""
        return self.count

    @property
    def skipped(self) -> int:
        """Samples not written to a client whose buffer was full."""
        return sum(group.skipped for group in self._groups)

    @property
    def ignored(self) -> int:
        """Messages clients sent, which the server does not expect."""
        return sum(group.ignored for group in self._groups)

    def status(self) -> dict[str, int]:
        """``clients``, ``skipped`` and ``dropped`` (connections cut off for not reading)."""
        return {
            "clients": self.count,
            "skipped": self.skipped,
            "dropped": self.connection_class.dropped,
        }

    def _broadcast(self, encoded: EncodedSample) -> None:
        # Each JSON text is encoded (by reading it) only while a group has someone to send it to.
        if self.compact.connections:
            if encoded.schema is not self._schema:  # every subscriber must have it, behind or not
                self.compact.send_all(encoded.schema.text)
            self.compact.send(encoded.compact)
        self._schema = encoded.schema  # what a newcomer's history ended with, when it joins
        if self.lean.connections:
            self.lean.send(encoded.lean)
        if self.detail.connections:
            self.detail.send(encoded.detail)
        if self.top.connections:
            self.top.send(encoded.top or encoded.lean)  # no table: a reading that failed

    def refuse(self, request: Request) -> Response | None:
        """A 400 for a ``top`` that is not 0 to 25, or asked with ``detail=1``."""
        return top_refusal(request)

    def subprotocol(self, request: Request, offered: Sequence[str]) -> str | None:
        """``iostat.compact.v1`` for a lean viewer that offers it, while enabled; else none."""
        if not self.compact_enabled or PROTOCOL not in offered:
            return None
        try:
            query = parse_qs(urlsplit(request.path).query)
            lean = not asked_top(query) and not wants_detail(query)
        except ValueError:  # refused before the handshake (see refuse)
            return None
        return PROTOCOL if lean else None

    def _compact_history(self) -> History:
        """One newcomer's compact history: a schema message before the first sample and before
        each sample whose schema differs from the one before it."""
        sent: list[CompactSchema | None] = [None]

        def after(seq: int) -> list[tuple[int, str]]:
            items = []
            for kept in self.hub.history_after(seq):
                if kept.schema is not sent[0]:
                    items.append((kept.seq - 1, kept.schema.text))
                    sent[0] = kept.schema
                items.append((kept.seq, kept.compact))
            return items

        return after

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
            if connection.subprotocol == PROTOCOL:
                await self.compact.serve(connection, self._compact_history())
            elif top:
                await self.top.serve(connection, self._top_after)
            elif wants_detail(query):
                await self.detail.serve(connection, self._detail_after)
            else:
                await self.lean.serve(connection, self._lean_after)
        finally:
            if top:
                self.hub.release_top(top)
            self.hub.release()
