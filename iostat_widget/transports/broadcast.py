"""Broadcast with history: the one way the WebSocket endpoints feed their subscribers.

A newcomer is sent what its hub keeps, then whatever arrived meanwhile, until caught up, and
joins the live set with no ``await`` in between, so no message is missed or sent twice. Each
live message is encoded once by the hub and pushed with ``websockets.broadcast`` (one write per
client, no per-client task). A client whose write buffer holds more than ``skip_above`` bytes is
skipped, not waited for (it sees a gap in ``seq``), so a stalled reader costs bounded memory and
never delays anyone else; websockets' keepalive ping then closes it. Both ``/iostat`` and
``/lines`` are built on it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from websockets.asyncio.server import ServerConnection, broadcast
from websockets.exceptions import ConnectionClosed

__all__ = ["Broadcast", "History"]

History = Callable[[int], Sequence[tuple[int, str]]]
"""``history(seq)``: the kept messages numbered above ``seq``, oldest first, as ``(seq, text)``."""


class Broadcast:
    """The live subscribers of one stream of text messages."""

    def __init__(self, skip_above: int) -> None:
        self.skip_above = skip_above  #: bytes queued for a client past which it is skipped
        self.connections: set[ServerConnection] = set()
        self.skipped = 0  #: messages not written to a client whose buffer was full
        self.ignored = 0  #: messages clients sent, which the server does not expect

    def _ready(self) -> Iterator[ServerConnection]:
        # Lazily, so the first client's write starts at once instead of after a pass over all.
        limit = self.skip_above
        for connection in self.connections:
            transport = connection.transport
            if transport is not None and transport.get_write_buffer_size() <= limit:
                yield connection
            else:
                self.skipped += 1

    def send(self, message: str) -> None:
        """Write ``message`` to every subscriber that keeps up."""
        if self.connections:
            broadcast(self._ready(), message)

    def send_all(self, message: str) -> None:
        """Write ``message`` to every subscriber, even one behind: for a message the ones after
        it are read by (a schema), so no subscriber ever reads them without it."""
        if self.connections:
            broadcast(self.connections, message)

    async def serve(self, connection: ServerConnection, history: History) -> None:
        """Send ``history``, join the live set, and read until the client leaves."""
        try:
            last = -1
            while items := history(last):
                for seq, message in items:
                    await connection.send(message)
                    last = seq
            self.connections.add(connection)
            async for _ in connection:  # keep reading so close frames and pongs are processed
                self.ignored += 1
        except ConnectionClosed:
            pass  # a client leaving mid-send is normal
        finally:
            self.connections.discard(connection)
