"""The kernel-side client of ``/lines``: an endless, self-healing iterator of validated lines.

Same behaviour as :func:`~iostat_widget.clients.stream.stream` for samples (it shares the
reconnect loop): after a reconnect it skips the history it has already seen, it counts and skips
malformed messages, and it counts lines it never got (``missed``: a gap in ``seq``, because the
server skipped this client while it was slow, or lines went by while it was disconnected).
"""

from __future__ import annotations

from ..line_schema import LineMessage, decode_line
from .reconnect import ReconnectingStream

__all__ = ["LineStream", "line_stream"]


class LineStream(ReconnectingStream[LineMessage]):
    """Async iterator of :class:`~iostat_widget.line_schema.LineMessage` from ``url``; once.

    Counters: ``received`` (lines yielded), ``invalid`` (malformed messages skipped),
    ``duplicates`` (history already seen, skipped after a reconnect), ``missed`` (lines the
    numbering says were never received), ``reconnects``. ``after`` is the ``(seq, t)`` of the
    newest line already seen elsewhere (a viewer reconnecting): lines up to it are skipped.
    ``async for message in line_stream(url): print(message["line"])``.

    Raises:
        ValueError: at once, for a URL that is not ws:// or wss://.
    """

    def _decode(self, message: str | bytes) -> LineMessage:
        return decode_line(message)


line_stream = LineStream
"""``line_stream(url)`` is :class:`LineStream`: ``async for message in line_stream(url): ...``."""
