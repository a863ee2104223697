"""The file follower against real files: rotation, truncation, late files, odd bytes."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import tempfile
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iostat_widget.sources.lines import MAX_PIECE, Piece
from iostat_widget.sources.tail import HISTORY_WINDOW, _history_start, follow

POLL = 0.01
WAIT = 5.0  # generous bound for any single wait; tests finish far sooner


class Lines:
    """A follower read by a background task, so waiting for lines never cancels the follower."""

    def __init__(self, pieces: AsyncGenerator[Piece, None]) -> None:
        self.queue: asyncio.Queue[Piece] = asyncio.Queue()
        self.sizes: list[int] = []
        self.task = asyncio.create_task(self._pump(pieces))

    async def _pump(self, pieces: AsyncGenerator[Piece, None]) -> None:
        async with aclosing(pieces):
            async for piece in pieces:
                self.queue.put_nowait(piece)

    async def take(self, count: int) -> list[bytes]:
        """The next ``count`` whole lines, within ``WAIT`` seconds."""
        lines: list[bytes] = []
        current = b""
        async with asyncio.timeout(WAIT):
            while len(lines) < count:
                piece = await self.queue.get()
                self.sizes.append(len(piece.data))
                current += piece.data
                if piece.end:
                    lines.append(current)
                    current = b""
        return lines

    async def nothing_for(self, seconds: float) -> None:
        """Let the follower run a while, and check it neither sent anything nor failed."""
        await asyncio.sleep(seconds)
        assert self.queue.empty()
        assert not self.task.done()

    async def close(self) -> None:
        self.task.cancel()
        await asyncio.wait({self.task})


@pytest.fixture
async def log_path(tmp_path: Path) -> Path:
    return tmp_path / "app.log"


@pytest.fixture
async def follower(log_path: Path) -> AsyncIterator[Callable[..., Lines]]:
    """Start followers of ``log_path`` (polling every ``POLL`` s); all are stopped at the end."""
    started: list[Lines] = []

    def start(history: int = 10, history_window: int = HISTORY_WINDOW) -> Lines:
        pieces = follow(
            log_path, poll_interval=POLL, history=history, history_window=history_window
        )
        started.append(Lines(pieces))
        return started[-1]

    yield start
    for lines in started:
        await lines.close()


def write(path: Path, data: bytes, mode: str = "wb") -> None:
    with path.open(mode) as handle:
        handle.write(data)


def append(path: Path, data: bytes) -> None:
    write(path, data, "ab")


Start = Callable[..., Lines]


async def test_existing_file_gives_its_last_lines_then_new_ones(
    log_path: Path, follower: Start
) -> None:
    write(log_path, b"".join(b"line %d\n" % i for i in range(1, 6)))
    lines = follower(history=3)
    assert await lines.take(3) == [b"line 3\n", b"line 4\n", b"line 5\n"]
    append(log_path, b"line 6\nline 7\n")
    assert await lines.take(2) == [b"line 6\n", b"line 7\n"]


async def test_unfinished_last_line_counts_and_is_completed(
    log_path: Path, follower: Start
) -> None:
    write(log_path, b"a\nb\nhalf")
    lines = follower(history=2)
    assert await lines.take(1) == [b"b\n"]
    await lines.nothing_for(0.05)  # "half" waits for the rest of its line
    append(log_path, b" done\n")
    assert await lines.take(1) == [b"half done\n"]


async def test_history_zero_starts_at_the_next_whole_line(log_path: Path, follower: Start) -> None:
    write(log_path, b"old\nmiddle of a li")
    lines = follower(history=0)
    await lines.nothing_for(0.1)
    append(log_path, b"ne\nfresh\n")
    assert await lines.take(1) == [b"fresh\n"]


async def test_history_window_skips_a_last_line_longer_than_it(
    log_path: Path, follower: Start
) -> None:
    write(log_path, b"short\n" + b"L" * 100 + b"\n" + b"M" * 50)
    lines = follower(history=5, history_window=40)
    await lines.nothing_for(0.05)
    append(log_path, b"m\nafter\n")
    assert await lines.take(1) == [b"after\n"]


async def test_file_created_later_is_read_from_its_start(log_path: Path, follower: Start) -> None:
    lines = follower(history=1)
    await lines.nothing_for(0.1)
    write(log_path, b"first\nsecond\n")
    assert await lines.take(2) == [b"first\n", b"second\n"]


async def test_rotation_reads_the_old_file_to_its_end_then_the_new_one(
    log_path: Path, follower: Start
) -> None:
    write(log_path, b"before\n")
    lines = follower()
    assert await lines.take(1) == [b"before\n"]
    with open(log_path, "ab") as old:  # a writer that still holds the old file  # noqa: ASYNC230
        os.rename(log_path, log_path.with_suffix(".1"))
        old.write(b"late write to the old file\nunfinished")
        old.flush()
        write(log_path, b"new 1\nnew 2\n")
    assert await lines.take(4) == [
        b"late write to the old file\n",
        b"unfinished",  # the old file's last line, finished by the rotation
        b"new 1\n",
        b"new 2\n",
    ]


async def test_rotation_with_a_gap_while_the_path_is_missing(
    log_path: Path, follower: Start
) -> None:
    write(log_path, b"one\n")
    lines = follower()
    assert await lines.take(1) == [b"one\n"]
    os.rename(log_path, log_path.with_suffix(".1"))
    append(log_path.with_suffix(".1"), b"two\n")
    assert await lines.take(1) == [b"two\n"]  # still read through the open handle
    write(log_path, b"three\n")
    assert await lines.take(1) == [b"three\n"]


async def test_copytruncate_restarts_from_the_beginning(log_path: Path, follower: Start) -> None:
    write(log_path, b"aaaaaaaaaa\nbbbbbbbbbb\npartial")
    lines = follower()
    assert await lines.take(2) == [b"aaaaaaaaaa\n", b"bbbbbbbbbb\n"]
    os.truncate(log_path, 0)
    await asyncio.sleep(POLL * 5)  # the follower sees the size drop, ends "partial"
    append(log_path, b"after truncate\n")
    assert await lines.take(2) == [b"partial", b"after truncate\n"]


async def test_three_mebibyte_line_arrives_whole_in_bounded_pieces(
    log_path: Path, follower: Start
) -> None:
    write(log_path, b"")
    lines = follower()
    big = os.urandom(3 * MAX_PIECE // 2).hex().encode() + b"\n"
    append(log_path, big + b"small\n")
    assert await lines.take(2) == [big, b"small\n"]
    assert max(lines.sizes) <= MAX_PIECE
    assert len(lines.sizes) >= 4


async def test_invalid_utf8_and_nul_bytes_pass_through(log_path: Path, follower: Start) -> None:
    write(log_path, b"")
    lines = follower()
    append(log_path, b"bad \xff\xc3 ok\x00\x00 end\n")
    async with asyncio.timeout(WAIT):
        piece = await lines.queue.get()
    assert piece == Piece(b"bad \xff\xc3 ok\x00\x00 end\n", True)
    assert piece.text == "bad \ufffd\ufffd ok\x00\x00 end\n"


async def test_path_replaced_by_a_directory_is_waited_out(
    log_path: Path, follower: Start, caplog: pytest.LogCaptureFixture
) -> None:
    write(log_path, b"x\n")
    lines = follower()
    assert await lines.take(1) == [b"x\n"]
    with caplog.at_level(logging.WARNING, logger="iostat_widget.sources.tail"):
        os.unlink(log_path)
        os.mkdir(log_path)
        await lines.nothing_for(0.2)  # about twenty polls
        os.rmdir(log_path)
        write(log_path, b"back\n")
        assert await lines.take(1) == [b"back\n"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert f"tail {log_path}: path is a directory; waiting" in warnings
    assert len(warnings) <= 2  # once for the directory, maybe once for the moment it was gone


async def test_vanished_file_warns_once_and_keeps_waiting(
    log_path: Path, follower: Start, caplog: pytest.LogCaptureFixture
) -> None:
    write(log_path, b"x\n")
    lines = follower()
    assert await lines.take(1) == [b"x\n"]
    with caplog.at_level(logging.WARNING, logger="iostat_widget.sources.tail"):
        os.unlink(log_path)
        await lines.nothing_for(0.2)
    assert [r.getMessage() for r in caplog.records] == [
        f"tail {log_path}: file does not exist; waiting"
    ]


async def test_poll_interval_goes_to_the_injected_sleep(log_path: Path) -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 3:
            write(log_path, b"hello\n")  # the file shows up during the third wait

    pieces = follow(log_path, poll_interval=7.5, sleep=sleep)
    async with aclosing(pieces), asyncio.timeout(WAIT):
        assert await anext(pieces) == Piece(b"hello\n", True)
    assert waits == [7.5, 7.5, 7.5]


@settings(max_examples=200, deadline=None)
@given(
    data=st.lists(st.sampled_from([b"a", b"bc", b"\n"]), max_size=40).map(b"".join),
    count=st.integers(min_value=0, max_value=8),
    block=st.integers(min_value=1, max_value=9),
)
def test_history_start_is_where_the_last_lines_begin(data: bytes, count: int, block: int) -> None:
    lines = re.findall(rb"[^\n]*\n|[^\n]+\Z", data)  # like tail: an unfinished last line counts
    kept = lines[max(0, len(lines) - count) :] if count else []
    with tempfile.TemporaryFile() as handle:
        handle.write(data)
        handle.flush()
        start, mid_line = _history_start(handle.fileno(), len(data), count, 1 << 20, block)
    assert data[start:] == b"".join(kept)
    assert mid_line == (count == 0 and data != b"" and not data.endswith(b"\n"))
