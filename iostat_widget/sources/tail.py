"""Follow a log file like ``tail -F``, by polling ``os.stat``, as an async stream of line pieces.

Polling works on every file system (network mounts, containers) and needs no inotify. The
follower survives what happens to real logs: rotation (the old file's last bytes are read through
the still-open handle, then the new file from its start), copytruncate (restart from 0), a file
that does not exist yet, and a path that vanishes or becomes a directory (wait, warn once). It
knows nothing of HTTP: it yields :class:`~iostat_widget.sources.lines.Piece` objects.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
from collections.abc import AsyncGenerator, Awaitable, Callable
from pathlib import Path

from iostat_widget.sources.lines import MAX_PIECE, LineSplitter, Piece

__all__ = ["DEFAULT_POLL_INTERVAL", "HISTORY_WINDOW", "READ_CHUNK", "follow"]

log = logging.getLogger(__name__)

DEFAULT_POLL_INTERVAL = 0.1
READ_CHUNK = 64 * 1024
HISTORY_WINDOW = 8 * 1024 * 1024

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)

Sleep = Callable[[float], Awaitable[None]]


def _read_at(fd: int, offset: int, size: int) -> bytes:
    os.lseek(fd, offset, os.SEEK_SET)
    return os.read(fd, size)


def _history_start(
    fd: int, size: int, lines: int, window: int, block: int = READ_CHUNK
) -> tuple[int, bool]:
    """Offset where the last ``lines`` lines of the file begin, and whether it is mid-line.

    Like ``tail -n``, an unfinished last line counts as a line. The search looks back at most
    ``window`` bytes; if it finds no line start there, reading starts at the next line.
    """
    if size == 0:
        return 0, False
    ends_clean = _read_at(fd, size - 1, 1) == b"\n"
    if lines <= 0:
        return size, not ends_clean
    low = max(0, size - window)
    end = size - 1  # the last byte ends the last line (or is inside it): not a line start
    earliest: int | None = None
    while end > low:
        start = max(low, end - block)
        data = _read_at(fd, start, end - start)
        found = len(data)
        while (found := data.rfind(b"\n", 0, found)) >= 0:
            earliest = start + found + 1
            lines -= 1
            if lines == 0:
                return earliest, False
        end = start
    if low == 0:
        return 0, False
    if earliest is not None:
        return earliest, False
    return size, not ends_clean


class _Warner:
    """Log a problem with the path once per episode, not once per poll."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._current: str | None = None

    def problem(self, reason: str, level: int = logging.WARNING) -> None:
        """Report ``reason`` unless it is the problem already reported."""
        if reason != self._current:
            self._current = reason
            log.log(level, "tail %s: %s; waiting", self._path, reason)

    def ok(self) -> None:
        """The path is a readable file again: a later problem is news."""
        if self._current is not None:
            log.info("tail %s: file is available", self._path)
            self._current = None


class _Handle:
    """One open file being read, with the splitter that holds its unfinished line."""

    def __init__(self, fd: int, offset: int, splitter: LineSplitter) -> None:
        self.fd = fd
        self.offset = offset
        self.splitter = splitter
        info = os.fstat(fd)
        self.identity = (info.st_dev, info.st_ino)
        os.lseek(fd, offset, os.SEEK_SET)

    def check_truncated(self, path: Path) -> list[Piece]:
        """After copytruncate the size drops below our offset: finish the line, restart at 0."""
        if os.fstat(self.fd).st_size >= self.offset:
            return []
        log.info("tail %s: truncated below offset %d; reading from the start", path, self.offset)
        self.offset = 0
        os.lseek(self.fd, 0, os.SEEK_SET)
        return self.splitter.flush()

    def read_chunk(self, chunk_size: int) -> tuple[list[Piece], bool]:
        """Pieces completed by the next chunk, and whether end of file was reached.

        One chunk at a time, so a burst (a big file appearing) is handed out in small steps
        and consumers get to run between them.
        """
        data = os.read(self.fd, chunk_size)
        self.offset += len(data)
        return self.splitter.feed(data), not data

    def close(self) -> None:
        os.close(self.fd)


def _open(path: Path, history: int | None, max_piece: int, window: int) -> _Handle | None:
    """Open ``path`` if it is a regular file: at its last ``history`` lines, or at its start."""
    fd = os.open(path, _OPEN_FLAGS)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            return None
        offset, mid_line = 0, False
        if history is not None:
            offset, mid_line = _history_start(fd, info.st_size, history, window)
        return _Handle(fd, offset, LineSplitter(max_piece, discard_first=mid_line))
    except BaseException:
        os.close(fd)
        raise


class _Follower:
    """The state of one ``follow`` call: the open handle and what the path looked like."""

    def __init__(self, path: Path, history: int, chunk_size: int, max_piece: int, window: int):
        self.path = path
        self.history: int | None = history  # None once the first look is over: read from 0
        self.chunk_size = chunk_size
        self.max_piece = max_piece
        self.window = window
        self.warner = _Warner(path)
        self.current: _Handle | None = None

    def probe(self) -> os.stat_result | None:
        """Stat the path; ``None`` (after a warning) unless it is a regular file."""
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            at_start = self.history is not None  # not there yet at start-up: normal, wait
            self.warner.problem(
                "file does not exist", logging.INFO if at_start else logging.WARNING
            )
            return None
        except OSError as exc:
            self.warner.problem(f"cannot stat: {exc.strerror}")
            return None
        if stat.S_ISDIR(info.st_mode):
            self.warner.problem("path is a directory")
            return None
        if not stat.S_ISREG(info.st_mode):
            self.warner.problem("not a regular file")
            return None
        return info

    def replaced(self, info: os.stat_result) -> bool:
        """Whether the path now names another file than the one being read."""
        return self.current is None or self.current.identity != (info.st_dev, info.st_ino)

    def finish_current(self) -> list[Piece]:
        """Close the file being left behind, ending its unfinished line."""
        pieces: list[Piece] = []
        if self.current is not None:
            pieces = self.current.splitter.flush()
            self.current.close()
            self.current = None
            log.info("tail %s: file replaced; reading the new one from its start", self.path)
        return pieces

    def open(self) -> None:
        """Start reading the file now at the path (a warning if it cannot be opened)."""
        try:
            self.current = _open(self.path, self.history, self.max_piece, self.window)
        except OSError as exc:
            self.warner.problem(f"cannot open: {exc.strerror}")
            return
        if self.current is None:
            self.warner.problem("not a regular file")
        else:
            self.warner.ok()

    def read(self) -> tuple[list[Piece], bool]:
        """New pieces from the open file, and whether its end was reached."""
        if self.current is None:
            return [], True
        pieces: list[Piece] = []
        try:
            pieces += self.current.check_truncated(self.path)
            more, at_eof = self.current.read_chunk(self.chunk_size)
        except OSError as exc:  # keep the handle and its offset: retry at the next poll
            self.warner.problem(f"read failed: {exc.strerror}")
            return pieces, True
        return pieces + more, at_eof


async def follow(
    path: str | os.PathLike[str],
    *,
    history: int = 10,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    chunk_size: int = READ_CHUNK,
    max_piece: int = MAX_PIECE,
    history_window: int = HISTORY_WINDOW,
    sleep: Sleep = asyncio.sleep,
) -> AsyncGenerator[Piece, None]:
    """Yield the pieces of ``path``'s lines forever: its last ``history`` lines, then new ones.

    A file that appears later (or replaces a rotated one) is read from its start. ``sleep``
    waits ``poll_interval`` seconds between polls; inject a different one to drive time.
    """
    state = _Follower(Path(path), history, chunk_size, max_piece, history_window)
    try:
        while True:
            info = state.probe()
            if info is not None and state.replaced(info):
                at_eof = state.current is None
                while not at_eof:  # rotated: first the old file's rest, via its open handle
                    pieces, at_eof = state.read()
                    for piece in pieces:
                        yield piece
                    await sleep(0)
                for piece in state.finish_current():
                    yield piece
                state.open()
            elif info is not None:
                state.warner.ok()
            state.history = None
            pieces, at_eof = state.read()
            for piece in pieces:
                yield piece
            await sleep(poll_interval if at_eof else 0)
    finally:
        if state.current is not None:
            state.current.close()
