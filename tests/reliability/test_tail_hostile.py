"""The tail server against hostile files and requests: nothing crashes, later lines still arrive.

Log files are written by other programs and may hold anything: lines of many megabytes, bytes
that are not UTF-8, a character cut in half by a write, a path that becomes a directory or a FIFO.
And the port is open to anything that speaks (or fails to speak) HTTP. What ``tests/test_tail.py``
and ``tests/test_http_stream.py`` already check is not repeated here: this adds lines larger than
a client's buffer, characters split across writes, special files in place of the log, and junk
requests, each followed by normal lines that must still reach every reader.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from iostat_widget.hub.line_fanout import CLIENT_BUFFER
from iostat_widget.tail_server import TailServer

pytestmark = pytest.mark.timeout(120)

POLL = 0.01
WAIT = 30.0


class Reader:
    """A raw HTTP/1.1 reader of the never-ending response: the body's bytes, de-chunked."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.body = b""

    async def lines(self, count: int) -> list[bytes]:
        """The next ``count`` lines (with newlines); fails if the response ends first."""
        async with asyncio.timeout(WAIT):
            while self.body.count(b"\n") < count:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                assert size, f"response ended after {self.body[-200:]!r}"
                self.body += (await self.reader.readexactly(size + 2))[:-2]
        parts = self.body.split(b"\n")
        self.body = b"\n".join(parts[count:])
        return [part + b"\n" for part in parts[:count]]


@contextlib.asynccontextmanager
async def reading(port: int, headers: str = "") -> AsyncIterator[Reader]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    try:
        writer.write(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{headers}\r\n".encode())
        async with asyncio.timeout(WAIT):
            head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 "), head
        yield Reader(reader, writer)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def until_clients(server: TailServer, count: int) -> None:
    async with asyncio.timeout(WAIT):
        while server.status()["clients"] != count:
            await asyncio.sleep(POLL)


def append(path: Path, data: bytes) -> None:
    with path.open("ab") as handle:
        handle.write(data)


def no_errors_logged(caplog: pytest.LogCaptureFixture) -> None:
    bad = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not bad, "\n".join(f"{r.name}: {r.getMessage()}" for r in bad) + caplog.text[-3000:]


@pytest.fixture
async def tail(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> AsyncIterator[TailServer]:
    caplog.set_level(logging.INFO)
    path = tmp_path / "app.log"
    path.write_bytes(b"")
    async with TailServer(path, port=0, backlog=0, poll_interval=POLL) as server:
        yield server


async def test_lines_larger_than_a_client_buffer_reach_readers_that_keep_reading(
    tail: TailServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Three lines of 2x a client's buffer each, written at once, then ordinary lines.

    Both readers read as fast as loopback allows; a reader that reads is not a stalled one, so
    neither may be dropped, and each must get every byte of every line.
    """
    rng = random.Random(3)
    size = 2 * CLIENT_BUFFER
    big = [bytes(rng.choices(b"abcdefghij", k=size)) + b"\n" for _ in range(3)]
    after = [f"after {n}\n".encode() for n in range(5)]
    async with reading(tail.port) as first, reading(tail.port) as second:
        await until_clients(tail, 2)
        append(tail.path, b"".join(big))
        append(tail.path, b"".join(after))
        got = await asyncio.gather(first.lines(8), second.lines(8))
    for lines in got:
        assert [len(line) for line in lines[:3]] == [size + 1] * 3
        assert lines[:3] == big
        assert lines[3:] == after
    no_errors_logged(caplog)


async def test_bytes_that_are_not_text_arrive_replaced_and_characters_split_by_writes_whole(
    tail: TailServer, caplog: pytest.LogCaptureFixture
) -> None:
    emoji = "\U0001f4c8".encode()  # four bytes
    async with reading(tail.port) as client:
        await until_clients(tail, 1)
        append(tail.path, b"nul \x00 here\nbad \xff\xfe\xc0\x80 bytes\ncarriage\rreturn\n")
        append(tail.path, b"\x1b[31mescape\x1b[0m\nsplit " + emoji[:2])
        await asyncio.sleep(POLL * 10)  # the follower reads the half character on its own
        append(tail.path, emoji[2:] + b" done\n")
        lines = await client.lines(5)
        append(tail.path, b"normal\n")
        lines += await client.lines(1)
    assert lines == [
        b"nul \x00 here\n",
        "bad \ufffd\ufffd\ufffd\ufffd bytes\n".encode(),
        b"carriage\rreturn\n",
        b"\x1b[31mescape\x1b[0m\n",
        b"split " + emoji + b" done\n",
        b"normal\n",
    ]
    no_errors_logged(caplog)


async def test_path_turns_into_a_directory_then_a_fifo_then_a_file_again(
    tail: TailServer, caplog: pytest.LogCaptureFixture
) -> None:
    path = tail.path
    async with reading(tail.port) as first, reading(tail.port) as second:
        await until_clients(tail, 2)
        append(path, b"before\nunfinished")
        assert await first.lines(1) == [b"before\n"]
        await asyncio.sleep(POLL * 10)
        path.unlink()
        path.mkdir()
        await asyncio.sleep(POLL * 20)
        assert tail.status()["status"] == "ok"
        path.rmdir()
        os.mkfifo(path)
        await asyncio.sleep(POLL * 20)
        assert tail.status()["status"] == "ok"
        path.unlink()
        append(path, b"back 1\nback 2\n")
        assert await first.lines(3) == [b"unfinished\n", b"back 1\n", b"back 2\n"]
        assert await second.lines(4) == [b"before\n", b"unfinished\n", b"back 1\n", b"back 2\n"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("directory" in w for w in warnings) and any("regular" in w for w in warnings)
    no_errors_logged(caplog)


JUNK_REQUESTS: dict[str, bytes] = {
    "random-bytes": random.Random(11).randbytes(4096),
    "truncated": b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Half",
    "huge-header": b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n",
    "http-1.0": b"GET / HTTP/1.0\r\n\r\n",
    "post-large-body": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n"
    + bytes(70_000),
    "bad-content-length": b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    "unparsable-target": b"GET //[ HTTP/1.1\r\nHost: x\r\n\r\n",
    "unparsable-origin": b"GET / HTTP/1.1\r\nHost: x\r\nOrigin: http://[\r\n\r\n",
    "non-ascii-target": b"GET /\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n",
}


@pytest.mark.parametrize("name", sorted(JUNK_REQUESTS))
async def test_junk_request_to_the_tail_server_is_refused_without_an_error(
    tail: TailServer, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    async with reading(tail.port) as client:
        await until_clients(tail, 1)
        reader, writer = await asyncio.open_connection("127.0.0.1", tail.port)
        try:
            writer.write(JUNK_REQUESTS[name])
            writer.write_eof()  # nothing more is coming: no waiting for the rest of a request
            async with asyncio.timeout(5):
                answer = await reader.read(200)
        except (TimeoutError, ConnectionResetError):
            answer = b""  # cut off without an answer: fine
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        append(tail.path, b"still here\n")
        assert await client.lines(1) == [b"still here\n"]
    assert not answer.startswith(b"HTTP/1.1 5"), answer
    no_errors_logged(caplog)
