"""Fan-out of a line stream: one reader of the file, a bounded queue per client.

The tail server's counterpart of the sample hub: lines are read once and offered to every
subscriber; a subscriber that stops reading is dropped once its queue is full, so it can neither
grow the server's memory nor delay anyone else. New subscribers start with the last few lines.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable

from ..sources.lines import Piece

__all__ = ["BACKLOG_BUDGET", "CLIENT_BUFFER", "LineFanout", "LineSubscriber"]

log = logging.getLogger(__name__)

CLIENT_BUFFER = 4 * 1024 * 1024
BACKLOG_BUDGET = 8 * 1024 * 1024
_WRITE_BATCH = 256 * 1024  # per write+flush; more than one file read (64 KiB) adds


def _cost(text: str) -> int:
    return len(text) + 64  # with a rough per-item overhead, a flood of tiny lines counts too


class LineSubscriber:
    """One connected reader: the text not yet written to it, bounded by ``limit``."""

    def __init__(self, backlog: list[str], limit: int, skip_line: bool, drop: Callable[[], None]):
        self.peer = "?"  # for the log
        self.queue = deque(backlog)
        self.size = sum(map(_cost, backlog))
        self.limit = limit + self.size  # the backlog is a head start, not held against it
        self.skip_line = skip_line  # joined in the middle of a line: start at the next one
        self.ready = asyncio.Event()
        self.drop = drop  # closes the connection
        self.closed = False

    def offer(self, text: str, end: bool) -> bool:
        """Queue ``text``; false once over the limit (the caller then drops this client)."""
        if self.closed or self.skip_line:
            self.skip_line &= not end
            return True
        self.queue.append(text)
        self.size += _cost(text)
        self.ready.set()
        return self.size <= self.limit

    async def take(self) -> str | None:
        """Queued text (several lines at once when behind), or ``None`` once closed."""
        while not self.queue and not self.closed:
            self.ready.clear()
            await self.ready.wait()
        parts: list[str] = []
        taken = 0
        while self.queue and taken < _WRITE_BATCH:
            parts.append(self.queue.popleft())
            taken += len(parts[-1])
            self.size -= _cost(parts[-1])
        return "".join(parts) if parts else None


class LineFanout:
    """The one place lines go: remembers the last ``backlog`` lines and feeds every client.

    The backlog keeps lines that came in one piece (up to 1 MiB), ``budget`` characters in all.
    A client joining in the middle of a longer line starts at the next one: never a line's end
    without its start.
    """

    def __init__(self, backlog: int, client_buffer: int, budget: int = BACKLOG_BUDGET):
        self.backlog, self.budget, self.client_buffer = backlog, budget, client_buffer
        self.history: deque[str] = deque()
        self.history_size = 0
        self.mid_line = False
        self.clients: set[LineSubscriber] = set()
        self.lines = 0
        self.active = 0  # responses still open, including those finishing after unsubscribe

    def publish(self, piece: Piece) -> None:
        """Send a piece to every client, dropping those whose queue is full."""
        text = piece.text
        if piece.end and not text.endswith("\n"):
            text += "\n"  # a file's unfinished last line, left behind: keep the stream framed
        if piece.end and not self.mid_line and self.backlog:
            self.history.append(text)
            self.history_size += len(text)
            while len(self.history) > self.backlog or self.history_size > self.budget:
                self.history_size -= len(self.history.popleft())
        for client in list(self.clients):
            if not client.offer(text, piece.end):
                log.warning("dropping client %s: not reading, queue full", client.peer)
                self.unsubscribe(client, discard=True)
                client.drop()
        self.lines += piece.end
        self.mid_line = not piece.end

    def subscribe(self, drop: Callable[[], None]) -> LineSubscriber:
        """A new client, starting with the backlog."""
        client = LineSubscriber(list(self.history), self.client_buffer, self.mid_line, drop)
        self.clients.add(client)
        return client

    def unsubscribe(self, client: LineSubscriber, discard: bool = False) -> None:
        """Forget a client (idempotent): its response ends after what it has queued, or now."""
        self.clients.discard(client)
        if discard:
            client.queue.clear()
        client.closed = True
        client.ready.set()
