"""The counting proxy: exact byte counts both ways, per connection, delay, capture, shutdown."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from iostat_widget.course.counting_proxy import CountingProxy, Counts
from iostat_widget.server import Server


@pytest.fixture
async def echo_port() -> AsyncIterator[int]:
    """A loopback server that echoes what it reads, then closes when the client half-closes."""

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.write(b"bye")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def read_exactly(reader: asyncio.StreamReader, n: int) -> bytes:
    async with asyncio.timeout(5):
        return await reader.readexactly(n)


async def test_counts_every_byte_each_way_per_connection_and_in_total(echo_port: int) -> None:
    async with CountingProxy("127.0.0.1", echo_port, capture=8) as proxy:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(b"hello, proxy")
        assert await read_exactly(reader, 12) == b"hello, proxy"
        writer.write_eof()  # half-close: the echo server answers "bye" and closes
        async with asyncio.timeout(5):
            assert await reader.read() == b"bye"
        writer.close()
        second_reader, second = await asyncio.open_connection("127.0.0.1", proxy.port)
        second.write(b"x" * 100_000)
        assert await read_exactly(second_reader, 100_000) == b"x" * 100_000
        assert proxy.counts == Counts(up=100_012, down=100_015, connections=2)
        first_record, second_record = proxy.connections
        assert (first_record.up, first_record.down) == (12, 15)
        assert first_record.closed is not None and second_record.closed is None
        assert bytes(first_record.head_up) == b"hello, p"  # capture keeps the first 8 bytes
        assert bytes(first_record.head_down) == b"hello, p"
        assert (second_record.up, second_record.down) == (100_000, 100_000)
        second.close()


async def test_reset_zeroes_totals_and_forgets_closed_connections(echo_port: int) -> None:
    async with CountingProxy("127.0.0.1", echo_port) as proxy:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(b"abc")
        await read_exactly(reader, 3)
        before = proxy.counts
        proxy.reset()
        assert proxy.counts == Counts() and len(proxy.connections) == 1
        writer.write(b"de")
        await read_exactly(reader, 2)
        assert proxy.counts == Counts(up=2, down=2, connections=0)
        assert before - Counts(1, 1, 1) == Counts(2, 2, 0) and before.total == 6
        writer.close()


async def test_delay_holds_each_chunk_one_way_and_keeps_order(echo_port: int) -> None:
    async with CountingProxy("127.0.0.1", echo_port, delay=0.2) as proxy:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        started = time.monotonic()
        for i in range(5):
            writer.write(f"{i}".encode())
            await writer.drain()
            await asyncio.sleep(0.02)
        assert await read_exactly(reader, 5) == b"01234"
        round_trip = time.monotonic() - started
        assert 0.4 <= round_trip < 1.2  # 0.2 s each way, chunks not delayed one after another
        writer.close()


async def test_a_refused_target_closes_the_client_and_is_recorded() -> None:
    placeholder = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = placeholder.sockets[0].getsockname()[1]
    placeholder.close()
    await placeholder.wait_closed()  # nothing listens on `port` any more
    async with CountingProxy("127.0.0.1", port) as proxy:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        async with asyncio.timeout(5):
            assert await reader.read() == b""
        writer.close()
        assert proxy.counts == Counts(0, 0, 1) and proxy.connections[0].closed is not None


async def test_aclose_cuts_open_connections_and_addresses(echo_port: int) -> None:
    proxy = CountingProxy("127.0.0.1", echo_port, delay=0.05)
    with pytest.raises(RuntimeError):
        _ = proxy.port
    await proxy.start()
    assert proxy.url_for("/poll?after=1") == f"http://127.0.0.1:{proxy.port}/poll?after=1"
    assert proxy.url_for("iostat", "ws") == f"ws://127.0.0.1:{proxy.port}/iostat"
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(b"ping")
    await read_exactly(reader, 4)
    started = time.monotonic()
    await proxy.aclose()
    async with asyncio.timeout(5):
        assert await reader.read() == b""
    assert time.monotonic() - started < 2.0
    assert proxy.connections[0].closed is not None
    writer.close()
    with pytest.raises(ValueError, match="negative"):
        CountingProxy("127.0.0.1", 1, delay=-1)


async def test_http_through_the_proxy_counts_headers_too(server: Server) -> None:
    async with CountingProxy("127.0.0.1", server.port) as proxy:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        writer.write(request)
        async with asyncio.timeout(5):
            response = await reader.read()  # the server closes after one answer
        writer.close()
        head, _, body = response.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200") and body.startswith(b"{")
        assert proxy.counts == Counts(up=len(request), down=len(response), connections=1)
        assert proxy.counts.down > len(body) + 100  # the status line and headers are counted
