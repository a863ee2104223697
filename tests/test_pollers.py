"""The course's clients, measured on loopback: what each loses, costs and delays."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator
from pathlib import Path

import bqplot
import pytest
from websockets.frames import Frame, Opcode

from iostat_widget.compact import PROTOCOL
from iostat_widget.course import (
    CountingProxy,
    Counts,
    Run,
    append_lines,
    at_scale,
    binary_rate,
    decode_poll_body,
    fetch_whole,
    long_poll,
    markdown_table,
    naive_poll,
    parse_frames,
    percentiles_ms,
    read_lines,
    sort_messages,
    split_frames,
    split_http_head,
    websocket_watch,
    written_at,
)
from iostat_widget.course.charts import bar_chart, cdf_chart, points_chart
from iostat_widget.schema import SampleError
from iostat_widget.server import Server
from iostat_widget.sources.synthetic import SyntheticSampler
from iostat_widget.tail_server import TailServer

from .conftest import FAST


@pytest.fixture
async def latest() -> AsyncIterator[Server]:
    """A server keeping only its newest sample: ``/poll?after=-1`` is a "latest value" URL."""
    sampler = SyntheticSampler(interval=FAST)
    async with Server("127.0.0.1", 0, interval=FAST, sampler=sampler, history=1) as running:
        yield running


async def test_naive_polling_on_a_fast_link_sees_samples_at_its_own_rate(latest: Server) -> None:
    async with CountingProxy("127.0.0.1", latest.port) as proxy:
        run = await naive_poll(proxy, period=FAST, duration=0.8, server=latest)
    assert run.requests >= 10 and run.server_requests == run.requests
    assert 10 <= run.requests_per_second <= 1 / FAST + 1
    assert run.received >= 8 and run.errors == 0
    assert run.lost <= run.span // 3  # same period as the sampler: at most occasional misses
    assert run.wire.connections == run.requests  # one TCP connection per request
    assert run.bytes_per_sample == pytest.approx(run.wire.total / run.received)
    assert run.wire.total / run.requests > 300  # headers both ways plus a ~240-byte sample
    assert max(run.latencies) < 1.0


async def test_naive_polling_loses_samples_when_the_link_is_slower_than_the_interval(
    latest: Server,
) -> None:
    async with CountingProxy("127.0.0.1", latest.port, delay=2 * FAST) as proxy:
        run = await naive_poll(proxy, period=FAST, duration=1.0, server=latest)
    # A round trip takes 4 intervals: about 3 samples in 4 are never seen.
    assert run.span >= 10 and run.lost >= run.span // 2
    assert run.requests_per_second < 1 / FAST / 2
    assert min(run.latencies) >= 2 * FAST * 0.9  # the answer spends one delay on the way back


async def test_long_polling_loses_nothing_over_the_same_slow_link(server: Server) -> None:
    async with CountingProxy("127.0.0.1", server.port, delay=2 * FAST) as proxy:
        run = await long_poll(proxy, duration=1.0, server=server, wait=2.0)
    assert run.received >= 12 and run.lost == 0 and run.errors == 0
    assert run.seqs == sorted(run.seqs) and len(set(run.seqs)) == len(run.seqs)
    assert run.setup.connections == 1 and run.setup.down > 0  # the history answer
    assert run.server_requests == run.requests < run.received  # answers carry several samples


async def test_websocket_loses_nothing_and_costs_least_per_sample(server: Server) -> None:
    async with CountingProxy("127.0.0.1", server.port) as proxy:
        pushed = await websocket_watch(proxy, duration=0.7, server=server)
        polled = await long_poll(proxy, duration=0.5, server=server)
    assert pushed.received >= 8 and pushed.lost == 0
    assert pushed.wire.up == 0 and pushed.wire.connections == 0  # nothing asked, nothing opened
    assert pushed.requests_per_second == 0.0 and pushed.server_requests == 0
    assert pushed.setup.up > 100  # the upgrade request
    kept = server.hub.history_after(-1)
    payload = sum(len(encoded.lean) for encoded in kept) / len(kept)
    assert pushed.bytes_per_sample == pytest.approx(payload + 4, abs=8)  # 4-byte frame headers
    assert polled.bytes_per_sample > pushed.bytes_per_sample + 150  # HTTP headers, both ways
    assert percentiles_ms(pushed.latencies)["p50"] < 50


async def test_frames_captured_through_the_proxy_decode(server: Server) -> None:
    async with CountingProxy("127.0.0.1", server.port, capture=8192) as proxy:
        await websocket_watch(proxy, duration=0.3)
        for _ in range(100):  # the close handshake finishes after the client returns
            if proxy.connections[0].closed is not None:
                break
            await asyncio.sleep(0.02)
        record = proxy.connections[0]
    handshake, frames = split_http_head(bytes(record.head_down))
    assert handshake.startswith(b"HTTP/1.1 101")
    assert frames[0] == 0x81  # FIN + text
    decoded = parse_frames(frames, from_client=False)
    texts = [frame for frame in decoded if frame.opcode == "TEXT"]
    assert texts and all(frame.header == 4 and 125 < frame.payload < 65536 for frame in texts)
    assert decoded[-1].opcode == "CLOSE" and decoded[-1].header == 2
    _, client_frames = split_http_head(bytes(record.head_up))
    (close,) = parse_frames(client_frames, from_client=True)
    assert close.opcode == "CLOSE" and close.masked and close.header == 6 and close.size == 8


async def test_websocket_watch_in_the_compact_form_sends_2_byte_headers(server: Server) -> None:
    async with CountingProxy("127.0.0.1", server.port, capture=64 * 1024) as proxy:
        plain = await websocket_watch(proxy, duration=0.5, server=server)
        compact = await websocket_watch(proxy, duration=0.5, server=server, subprotocol=PROTOCOL)
        records = proxy.connections
    assert plain.transport == "WebSocket" and compact.transport == f"WebSocket ({PROTOCOL})"
    assert compact.received >= 8 and compact.lost == 0 and compact.errors == 0
    heads, sorted_frames = [], []
    for record in records:
        head, frames = split_http_head(bytes(record.head_down))
        heads.append(head)
        sorted_frames.append(sort_messages(split_frames(frames, from_client=False)))
    assert f"Sec-WebSocket-Protocol: {PROTOCOL}".encode() not in heads[0]
    assert f"Sec-WebSocket-Protocol: {PROTOCOL}".encode() in heads[1]
    (no_schema, json_samples), (schemas, compact_samples) = sorted_frames
    assert no_schema == [] and len(schemas) == 1  # the history starts with the schema
    assert {info.header for info, _ in json_samples} == {4}
    assert {info.header for info, _ in compact_samples} == {2}  # payloads of at most 125 B
    sizes = [info.size for info, _ in compact_samples]
    # One frame per sample, and nothing sent upstream during the run.
    assert compact.bytes_per_sample == pytest.approx(sum(sizes) / len(sizes), abs=6)
    assert compact.bytes_per_sample < plain.bytes_per_sample / 3


async def test_websocket_watch_reads_json_when_the_server_declines_the_subprotocol() -> None:
    sampler = SyntheticSampler(interval=FAST)
    async with (
        Server("127.0.0.1", 0, interval=FAST, sampler=sampler, compact=False) as plain_only,
        CountingProxy("127.0.0.1", plain_only.port) as proxy,
    ):
        run = await websocket_watch(proxy, duration=0.3, subprotocol=PROTOCOL)
    assert run.transport == "WebSocket" and run.received >= 4 and run.lost == 0


def test_parse_frames_header_sizes_and_errors() -> None:
    def wire(payload: bytes, mask: bool) -> bytes:
        return Frame(Opcode.TEXT, payload).serialize(mask=mask)

    data = wire(b"x" * 10, False) + wire(b"y" * 300, False) + wire(b"z" * 70_000, False)
    sizes = [(f.header, f.payload) for f in parse_frames(data, from_client=False)]
    assert sizes == [(2, 10), (4, 300), (10, 70_000)]
    assert [f.header for f in parse_frames(wire(b"hi", True), from_client=True)] == [6]
    assert parse_frames(wire(b"cut", False)[:-1], from_client=False) == []
    with pytest.raises(ValueError, match="not a valid WebSocket frame"):
        parse_frames(wire(b"hi", True), from_client=False)
    with pytest.raises(ValueError, match="end of HTTP headers"):
        split_http_head(b"HTTP/1.1 101 Switching Protocols\r\n")


async def test_a_whole_response_client_never_sees_a_never_ending_stream(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("old 1\nold 2\n")
    async with TailServer(log, backlog=2) as tail, CountingProxy("127.0.0.1", tail.port) as proxy:
        whole = await fetch_whole(proxy.url_for("/"), limit=0.5)
        streamed = await read_lines(proxy.url_for("/"), limit=5.0, count=2)
        health = await fetch_whole(proxy.url_for("/healthz"), limit=5.0)
    assert not whole.completed and whole.status == 599 and whole.body == b""
    assert 0.4 < whole.waited < 3.0
    assert proxy.connections[0].down > 100  # headers and the backlog did arrive
    assert [line.text for line in streamed.lines] == ["old 1", "old 2"]
    assert streamed.status == 200 and not streamed.completed
    assert health.completed and health.status == 200 and b'"status"' in health.body


async def test_read_lines_stamps_arrivals_and_stops_at_its_limit(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.touch()

    async def write_lines() -> list[float]:
        written = []
        for i in range(3):
            await asyncio.sleep(0.15)
            written.append(time.time())
            with log.open("a") as file:
                file.write(f"line {i}\n")
        return written

    async with TailServer(log, backlog=0, poll_interval=0.05) as tail:
        writer = asyncio.create_task(write_lines())
        read = await read_lines(tail.url, limit=1.0)
        written = await writer
    assert [line.text for line in read.lines] == ["line 0", "line 1", "line 2"]
    delays = [a.arrived - w for a, w in zip(read.lines, written, strict=True)]
    assert all(0 <= d < 0.5 for d in delays)
    assert 0.9 < read.ended - read.started < 3.0 and not read.completed
    with pytest.raises(ValueError, match="http://"):
        await read_lines("ws://127.0.0.1:1/", limit=1.0)


def test_run_arithmetic_and_poll_bodies() -> None:
    run = Run("t", duration=2.0, seqs=[3, 4, 6, 9], latencies=[0.001, 0.002, 0.003, 0.1])
    run.wire = Counts(up=400, down=600, connections=4)
    run.requests = 4
    assert (run.received, run.span, run.lost) == (4, 7, 3)
    assert run.bytes_per_sample == 250 and run.requests_per_second == 2.0
    run.server_requests = 10
    assert run.requests_per_second == 5.0
    summary = run.summary()
    assert summary["lost %"] == pytest.approx(42.9) and summary["p50 (ms)"] == pytest.approx(2.5)
    empty = Run("none")
    assert empty.lost == 0 and math.isnan(empty.bytes_per_sample)
    assert math.isnan(empty.requests_per_second) and math.isnan(percentiles_ms([])["p99"])
    with pytest.raises(SampleError):
        decode_poll_body(b'{"seq": 1}')


def test_scale_rows_reproduce_the_writeup_units() -> None:
    polling, frames = at_scale("poll", 871), at_scale("frame", 2)
    assert polling.bits_per_second == 69_680_000 and binary_rate(polling.bits_per_second) == (
        "66 Mbps"
    )
    assert frames.bytes_per_second == 20_000 and binary_rate(frames.bits_per_second) == "156 Kbps"
    assert polling.row()["Mbit/s (SI)"] == pytest.approx(69.68)
    assert binary_rate(500) == "500 bps" and binary_rate(8 * 2**40) == "8192 Gbps"
    with pytest.raises(ValueError, match="negative"):
        at_scale("bad", -1)


def test_charts_hold_the_data_they_were_given() -> None:
    bars = bar_chart({"a": 1.0, "b": 250.0}, title="t", y_label="bytes", log=True)
    assert isinstance(bars, bqplot.Figure) and list(bars.marks[0].y) == [1.0, 250.0]
    small = bar_chart({"a": 0.16, "b": 69.7}, title="t", y_label="Mbit/s", log=True)
    assert small.marks[0].base == 0.1 and small.marks[0].scales["y"].min == 0.1
    cdf = cdf_chart({"ws": [3.0, 1.0, 2.0], "none": []}, title="t")
    assert len(cdf.marks) == 1 and list(cdf.marks[0].x) == [1.0, 2.0, 3.0]
    assert list(cdf.marks[0].y)[-1] == 100.0
    points = points_chart({"p": ([1, 2], [3, 4])}, title="t", x_label="x", y_label="y")
    assert list(points.marks[0].y) == [3.0, 4.0] and points.marks[0].scales["y"].max == 5.4
    for figure in (bars, small, cdf, points):
        figure.close()


async def test_timestamped_log_lines_and_tables(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    times = await append_lines(log, count=3, every=0.01, tag="row")
    lines = log.read_text().splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == ["row 0", "row 1", "row 2"]
    assert [written_at(line) for line in lines] == pytest.approx(times, abs=1e-6)
    assert times == sorted(times)
    with pytest.raises(ValueError, match="timestamped"):
        written_at("no time here")
    table = markdown_table([{"run": "a|b", "bytes": 1234.5}, {"run": "c"}])
    assert table.splitlines() == ["| run | bytes |", "|---|---|", "| a\\|b | 1,234.5 |", "| c |  |"]
    assert markdown_table([]) == ""
