"""The pseudo-terminal a command's stdout is read through: raw bytes, and its end read as EOF."""

from __future__ import annotations

import asyncio
import os

from iostat_widget.sources.lines import LineSplitter, Piece
from iostat_widget.sources.terminal import open_terminal, read_terminal


async def test_the_bytes_written_are_the_bytes_read_and_closing_ends_the_stream() -> None:
    terminal = open_terminal()
    assert terminal is not None
    master, slave = terminal
    pieces: list[Piece] = []
    try:
        os.write(slave, b"one\ntwo\r\nthree")  # a raw terminal adds no "\r" and keeps one
        reading = asyncio.ensure_future(
            read_terminal(master, LineSplitter(1024), pieces.append, "test")
        )
        await asyncio.sleep(0.1)
        assert not reading.done()  # the slave is still open: more may come
        os.close(slave)
        slave = -1
        async with asyncio.timeout(5):
            await reading  # EIO (Linux) or end of file: the end, not an error
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    assert [(p.text, p.end) for p in pieces] == [
        ("one\n", True),
        ("two\r\n", True),
        ("three", True),  # the unfinished last line, flushed at the end
    ]
