"""``/lines``: a stream of text lines over WebSocket, on the sample server's port.

The write-up's step 5 (any command's output, live in the browser) on today's transport. Each line
is one text message, a JSON object numbered by ``seq`` (see :mod:`iostat_widget.line_schema`),
numbered and kept by the :class:`~iostat_widget.hub.line_hub.LineHub` and sent like samples are
(:mod:`.broadcast`): a newcomer first gets the last lines the hub keeps, a client that does not
read is skipped (it sees a gap in ``seq``).
"""

from __future__ import annotations

from websockets.asyncio.server import ServerConnection

from ..hub.line_hub import EncodedLine, LineHub
from .broadcast import Broadcast
from .endpoint import Endpoint

__all__ = ["LINES_PATH", "LineSocket"]

LINES_PATH = "/lines"


class LineSocket(Endpoint):
    """Serves ``/lines`` from one :class:`~iostat_widget.hub.line_hub.LineHub`; guarded, a viewer.

    Starting and closing the endpoint starts and stops the hub's line source.
    """

    viewer = True
    websocket = True

    def __init__(self, hub: LineHub, *, skip_above: int = 64 * 1024) -> None:
        super().__init__(frozenset({LINES_PATH}))
        self.hub = hub
        self.subscribers = Broadcast(skip_above)
        hub.add_listener(self._broadcast)

    @property
    def connections(self) -> set[ServerConnection]:
        """Live subscribers."""
        return self.subscribers.connections

    @property
    def clients(self) -> int:
        """How many subscribers are live."""
        return len(self.subscribers.connections)

    @property
    def skipped(self) -> int:
        """Lines not written to a client whose buffer was full."""
        return self.subscribers.skipped

    @property
    def ignored(self) -> int:
        """Messages clients sent, which the server does not expect."""
        return self.subscribers.ignored

    def status(self) -> dict[str, int]:
        """``line_clients`` and ``lines`` (lines published so far)."""
        return {"line_clients": self.clients, "lines": self.hub.seq + 1}

    def _broadcast(self, line: EncodedLine) -> None:
        self.subscribers.send(line.text)

    def _after(self, seq: int) -> list[tuple[int, str]]:
        return [(line.seq, line.text) for line in self.hub.history_after(seq)]

    async def handler(self, connection: ServerConnection) -> None:
        """websockets connection handler for ``/lines``."""
        await self.subscribers.serve(connection, self._after)

    async def start(self) -> None:
        """Start the line source (it raises if it cannot run, e.g. a missing program)."""
        await self.hub.start()

    async def aclose(self) -> None:
        """Stop the line source; connections are closed by the server."""
        await self.hub.aclose()
