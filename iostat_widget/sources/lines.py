"""Split a byte stream into lines, without ever holding an unbounded line in memory.

A followed log file arrives in arbitrary chunks: a line may straddle reads, be megabytes long, or
hold bytes that are not UTF-8. This module turns such chunks into :class:`Piece` objects, each a
whole line or, for a line longer than ``max_piece`` bytes, one bounded part of it. It is pure (no
I/O, no event loop) so the rules can be checked exhaustively on their own.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

__all__ = ["MAX_PIECE", "LineSplitter", "Piece"]

MAX_PIECE = 1024 * 1024
"""Longest piece handed out: a longer line is delivered in several consecutive pieces."""

_MIN_PIECE = 4  # the longest UTF-8 sequence, so a cut can always move back to a boundary


@dataclass(frozen=True, slots=True)
class Piece:
    """A run of bytes from one line; ``end`` is true for the run that finishes the line.

    A finished line normally ends in ``b"\\n"``; the last line of a file that is left behind
    (rotation, truncation) may not. Joining a line's pieces gives the line's bytes exactly.
    """

    data: bytes
    end: bool

    @property
    def text(self) -> str:
        """The piece as text: invalid UTF-8 becomes U+FFFD, so bad bytes never stop a stream."""
        return self.data.decode("utf-8", errors="replace")


def _safe_cut(buffer: bytearray, limit: int) -> int:
    """Where to cut ``buffer[:limit]`` so that no UTF-8 sequence is split across two pieces.

    Only a tail that is the unfinished start of a valid sequence is held back: anything else
    decodes the same whatever follows, so joining the decoded pieces equals decoding the line.
    """
    tail = bytes(buffer[max(0, limit - 3) : limit])
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    decoder.decode(tail, final=False)
    return limit - len(decoder.getstate()[0])


class LineSplitter:
    """Turn chunks of bytes into line pieces; the result never depends on how input was chunked.

    ``max_piece`` bounds both the memory held for an unfinished line and the size of each piece.
    With ``discard_first`` the bytes up to and including the first newline are dropped: used when
    reading starts in the middle of a line whose beginning was never seen.
    """

    def __init__(self, max_piece: int = MAX_PIECE, *, discard_first: bool = False) -> None:
        if max_piece < _MIN_PIECE:
            raise ValueError(f"max_piece must be at least {_MIN_PIECE} bytes, got {max_piece}")
        self._max_piece = max_piece
        self._pending = bytearray()
        self._discard = discard_first
        self._mid_line = False

    @property
    def pending(self) -> int:
        """Bytes of an unfinished line held back, waiting for its newline (< ``max_piece``)."""
        return len(self._pending)

    @property
    def mid_line(self) -> bool:
        """Whether the last piece handed out left a line unfinished."""
        return self._mid_line

    def feed(self, data: bytes) -> list[Piece]:
        """Pieces completed by ``data``: whole lines, plus full-size parts of a long line."""
        out: list[Piece] = []
        start = 0
        if self._discard:
            newline = data.find(b"\n")
            if newline < 0:
                return out
            self._discard = False
            start = newline + 1
        while (newline := data.find(b"\n", start)) >= 0:
            self._push(data[start:newline], out)
            self._pending += b"\n"
            self._emit(len(self._pending), end=True, out=out)
            start = newline + 1
        self._push(data[start:], out)
        return out

    def flush(self) -> list[Piece]:
        """End the stream: an unfinished line is handed out as finished (without a newline).

        The splitter is then fresh, ready for another stream that starts at a line boundary.
        """
        out: list[Piece] = []
        self._discard = False
        if self._pending:
            self._emit(len(self._pending), end=True, out=out)
        elif self._mid_line:
            out.append(Piece(b"", end=True))
            self._mid_line = False
        return out

    def _push(self, segment: bytes, out: list[Piece]) -> None:
        """Add newline-free bytes, cutting a piece each time a full ``max_piece`` is held."""
        self._pending += segment
        while len(self._pending) >= self._max_piece:
            self._emit(_safe_cut(self._pending, self._max_piece), end=False, out=out)

    def _emit(self, size: int, *, end: bool, out: list[Piece]) -> None:
        out.append(Piece(bytes(self._pending[:size]), end=end))
        del self._pending[:size]
        self._mid_line = not end
