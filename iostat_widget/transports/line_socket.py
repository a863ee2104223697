"""``/lines``: a stream of text lines over WebSocket, on the sample server's port.

The write-up's step 5 (any command's output, live in the browser) on today's transport. Each line
is one text message, a JSON object numbered by ``seq`` (see :mod:`iostat_widget.line_schema`).
The fan-out is the samples' one: each message is encoded once and sent with
``websockets.broadcast``; a client whose write buffer is above ``skip_above`` bytes is skipped
(it sees a gap in ``seq``), so a stalled reader costs bounded memory and never delays anyone
else, and the keepalive ping drops it. A newcomer first gets the last ``history`` lines.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable

from websockets.asyncio.server import ServerConnection, broadcast
from websockets.exceptions import ConnectionClosed

from ..line_schema import encode_line
from ..sources.line_feed import LineSource

__all__ = ["LINES_PATH", "LineSocket"]

log = logging.getLogger(__name__)

LINES_PATH = "/lines"


class LineSocket:
    """Serves ``/lines`` from one :class:`~iostat_widget.sources.line_feed.LineSource`."""

    def __init__(
        self,
        source: LineSource,
        *,
        history: int = 20,
        skip_above: int = 64 * 1024,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if history < 0:
            raise ValueError(f"history must be 0 or more, got {history!r}")
        self.source = source
        self.skip_above = skip_above
        self._clock = clock
        self._history: deque[tuple[int, str]] = deque(maxlen=history)
        self._next_seq = 0
        self.connections: set[ServerConnection] = set()
        self.skipped = 0  #: lines not written to a client whose buffer was full
        self.ignored = 0  #: messages clients sent, which the server does not expect

    @property
    def seq(self) -> int:
        """Number of the newest line, or -1 before the first."""
        return self._next_seq - 1

    def publish(self, line: str, truncated: bool = False) -> None:
        """Number, encode and send one line to every client that keeps up; keep it for newcomers."""
        seq = self._next_seq
        self._next_seq += 1
        payload = encode_line(seq, self._clock(), line, truncated)
        self._history.append((seq, payload))
        ready = []
        for connection in self.connections:
            transport = connection.transport
            if transport is not None and transport.get_write_buffer_size() <= self.skip_above:
                ready.append(connection)
        self.skipped += len(self.connections) - len(ready)
        broadcast(ready, payload)

    def history_after(self, seq: int) -> list[tuple[int, str]]:
        """Kept lines numbered above ``seq``, oldest first, as ``(seq, payload)``."""
        return [item for item in self._history if item[0] > seq]

    async def start(self) -> None:
        """Start the source (it raises if it cannot run, e.g. a missing program)."""
        await self.source.start(self.publish)

    async def aclose(self) -> None:
        """Stop the source; connections are closed by the server."""
        await self.source.aclose()

    async def handler(self, connection: ServerConnection) -> None:
        """websockets connection handler for ``/lines``."""
        try:
            # History, then what arrived meanwhile, until caught up; joining the live set
            # follows with no await in between, so no line is missed or sent twice.
            last = -1
            while items := self.history_after(last):
                for seq, payload in items:
                    await connection.send(payload)
                    last = seq
            self.connections.add(connection)
            async for _ in connection:  # keep reading so close frames and pongs are processed
                self.ignored += 1
        except ConnectionClosed:
            pass
        finally:
            self.connections.discard(connection)
