"""stream(): validated samples, reconnection by itself, junk counted and skipped."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import sys
from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.server import ServerConnection
from websockets.asyncio.server import serve as ws_serve
from websockets.typing import Subprotocol

from iostat_widget.clients.stream import SampleStream, StreamState, stream
from iostat_widget.compact import PROTOCOL, CompactEncoder
from iostat_widget.schema import Sample, encode_sample, lean_sample, validate_sample
from iostat_widget.server import Server
from iostat_widget.sources.synthetic import SyntheticSampler, synthetic_sample

from .conftest import FAST


async def take(samples: AsyncIterator[Sample], count: int, limit: float = 10.0) -> list[Sample]:
    got: list[Sample] = []
    async with asyncio.timeout(limit):
        async for sample in samples:
            got.append(sample)
            if len(got) == count:
                break
    return got


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_stream_yields_consecutive_valid_samples(server: Server) -> None:
    states: list[StreamState] = []
    source = stream(server.url, on_state=states.append)
    iterator = aiter(source)
    got = await take(iterator, 10)
    await iterator.aclose()  # type: ignore[attr-defined]
    seqs = [s["seq"] for s in got]
    assert seqs == list(range(seqs[0], seqs[0] + 10))
    assert states == ["live", "stopped"] and source.state == "stopped"
    assert source.received == 10 and source.invalid == 0
    assert source.subprotocol == PROTOCOL  # the compact form, by default


async def test_stream_reads_json_from_a_server_without_the_compact_form() -> None:
    old = Server("127.0.0.1", 0, interval=FAST, sampler=SyntheticSampler(), compact=False)
    async with old:
        source = stream(old.url)
        iterator = aiter(source)
        got = await take(iterator, 5)
        await iterator.aclose()  # type: ignore[attr-defined]
    seqs = [s["seq"] for s in got]
    assert seqs == list(range(seqs[0], seqs[0] + 5)) and source.invalid == 0
    assert source.subprotocol is None


async def test_junk_compact_messages_are_counted_and_skipped() -> None:
    good = [lean_sample(synthetic_sample(n, 1_800_000_000.0 + n)) for n in range(3)]
    encoder = CompactEncoder(1.0)
    schema, first = encoder.encode(good[0])
    rest = [encoder.encode(sample)[1] for sample in good[1:]]
    junk = ["not json", "[1,2,3]", '{"compact": "other"}', first]  # last: after a bad schema

    async def handler(connection: ServerConnection) -> None:
        for message in [first, schema.text, first, *junk, schema.text, *rest]:
            await connection.send(message)
        await connection.wait_closed()

    async with ws_serve(handler, "127.0.0.1", 0, subprotocols=[Subprotocol(PROTOCOL)]) as fake:
        port = next(iter(fake.sockets)).getsockname()[1]
        source = stream(f"ws://127.0.0.1:{port}/")
        iterator = aiter(source)
        got = await take(iterator, 3)
        await iterator.aclose()  # type: ignore[attr-defined]
    assert got == [validate_sample(sample) for sample in good]
    assert source.invalid == 1 + len(junk)  # the sample before any schema, and the junk


async def test_stream_reconnects_to_a_restarted_server_without_duplicates() -> None:
    port = free_port()

    def make() -> Server:
        return Server("127.0.0.1", port, interval=FAST, sampler=SyntheticSampler(), linger=0.1)

    states: list[StreamState] = []
    source = SampleStream(
        f"ws://127.0.0.1:{port}/iostat", on_state=states.append, backoff=(0.05, 0.2)
    )
    iterator = aiter(source)
    first = make()
    await first.start()
    before = await take(iterator, 5)
    pending = asyncio.ensure_future(take(iterator, 8, limit=15))
    await asyncio.sleep(FAST * 2)
    await first.aclose()  # server goes away mid-stream
    await asyncio.sleep(0.5)
    assert source.state == "reconnecting"
    second = make()
    await second.start()
    try:
        after = await pending
    finally:
        await iterator.aclose()  # type: ignore[attr-defined]
        await second.aclose()
    assert "reconnecting" in states and states.count("live") >= 2
    assert source.reconnects >= 1 and source.last_error
    times = [s["t"] for s in before + after]
    assert times == sorted(times) and len(set(times)) == len(times)  # nothing twice
    assert any(s["seq"] < before[-1]["seq"] for s in after)  # new server numbers from 0 again


async def test_junk_messages_are_counted_and_skipped() -> None:
    good = [synthetic_sample(n, 1_800_000_000.0 + n) for n in range(3)]
    junk: list[str | bytes] = [
        "not json",
        "[1,2,3]",
        '{"seq": "x"}',
        encode_sample(good[0]).replace('"us":', '"us":NaN,"x":', 1),
        b"\x00\xff binary",
        json.dumps({**good[0], "cpu": {"us": 1e308}}),
    ]

    async def handler(connection: ServerConnection) -> None:
        await connection.send(encode_sample(good[0]))
        for message in junk:
            await connection.send(message)
        await connection.send(encode_sample(good[0]))  # a repeat: skipped as a duplicate
        for sample in good[1:]:
            await connection.send(encode_sample(sample))
        await connection.wait_closed()

    async with ws_serve(handler, "127.0.0.1", 0) as junk_server:
        port = next(iter(junk_server.sockets)).getsockname()[1]
        source = stream(f"ws://127.0.0.1:{port}/")
        iterator = aiter(source)
        got = await take(iterator, 3)
        await iterator.aclose()  # type: ignore[attr-defined]
    assert got == good
    assert source.invalid == len(junk) and source.duplicates == 1


async def test_unreachable_server_keeps_retrying_without_raising() -> None:
    source = stream(f"ws://127.0.0.1:{free_port()}/iostat", backoff=(0.01, 0.05))
    iterator = aiter(source)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(anext(iterator), 0.5)
    assert source.reconnects >= 3 and "Error" in (source.last_error or "")
    assert source.state == "stopped"  # the cancelled iteration ended cleanly


def test_bad_url_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="not a WebSocket URL"):
        stream("http://example.invalid/iostat")


async def test_a_stream_is_iterated_once(server: Server) -> None:
    source = stream(server.url)
    first = aiter(source)
    with pytest.raises(RuntimeError, match="once"):
        aiter(source)
    await first.aclose()  # type: ignore[attr-defined]


def test_a_client_does_not_load_the_server_side() -> None:
    # A kernel that only watches another machine must not pay for (or depend on) the server.
    code = (
        "import sys, iostat_widget.clients.stream; "
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('iostat_widget'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(out.stdout.split())
    server_side = {m for m in loaded if m.split(".")[1:2] in (["hub"], ["sources"], ["transports"])}
    assert server_side == set() and "iostat_widget.server" not in loaded
    # The schema is three modules (schema, gpu_schema, top_schema), and compact its wire form.
    assert len(loaded) <= 10, loaded
