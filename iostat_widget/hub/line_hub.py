"""The lines' hub: one line source per server, numbered, encoded once, the last few kept.

What :class:`~iostat_widget.hub.hub.Hub` is to samples, this is to text lines (a command's
output, a log's new lines): each line gets the next ``seq``, is encoded once as JSON (see
:mod:`iostat_widget.line_schema`) and handed to every listener; a newcomer is first given the
last ``history`` lines. No sockets here: ``/lines`` (:mod:`iostat_widget.transports.line_socket`)
is one listener.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import NamedTuple

from ..line_schema import encode_line
from ..sources.line_feed import LineSource
from .listeners import Listeners

__all__ = ["EncodedLine", "LineHub", "LineListener"]


class EncodedLine(NamedTuple):
    """One line as it travels: its number and its JSON text, encoded once."""

    seq: int
    text: str


LineListener = Callable[[EncodedLine], None]


class LineHub:
    """Numbers and keeps the lines of one :class:`~iostat_widget.sources.line_feed.LineSource`.

    ``history`` is how many lines a newcomer receives first (0 or more; ``ValueError``
    otherwise); ``clock`` gives each line its time (epoch seconds).
    """

    def __init__(
        self, source: LineSource, *, history: int = 20, clock: Callable[[], float] = time.time
    ) -> None:
        if history < 0:
            raise ValueError(f"history must be 0 or more, got {history!r}")
        self.source = source
        self._clock = clock
        self._history: deque[EncodedLine] = deque(maxlen=history)
        self._listeners: Listeners[EncodedLine] = Listeners()
        self._next_seq = 0

    @property
    def seq(self) -> int:
        """Number of the newest line, or -1 before the first."""
        return self._next_seq - 1

    def add_listener(self, listener: LineListener) -> None:
        """Call ``listener(line)`` for every new line."""
        self._listeners.add(listener)

    def remove_listener(self, listener: LineListener) -> None:
        """Stop calling ``listener``; unknown listeners are ignored."""
        self._listeners.remove(listener)

    def publish(self, line: str, truncated: bool = False) -> None:
        """Number and encode one line, keep it for newcomers, hand it to every listener."""
        seq = self._next_seq
        self._next_seq += 1
        encoded = EncodedLine(seq, encode_line(seq, self._clock(), line, truncated))
        self._history.append(encoded)
        self._listeners.notify(encoded)

    def history_after(self, seq: int) -> list[EncodedLine]:
        """Kept lines numbered above ``seq``, oldest first."""
        return [item for item in self._history if item.seq > seq]

    async def start(self) -> None:
        """Start the source (it raises if it cannot run, e.g. a missing program)."""
        await self.source.start(self.publish)

    async def aclose(self) -> None:
        """Stop the source and forget the listeners."""
        await self.source.aclose()
        self._listeners.clear()
