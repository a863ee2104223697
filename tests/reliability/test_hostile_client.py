"""Junk from the wire never reaches a consumer: counted, skipped, and the client carries on.

``stream()`` and ``Monitor`` read from whatever answers at a URL: a broken server, a proxy that
mangles frames, a hostile host. Every message is judged by ``decode_sample``; what fails must be
counted and skipped (never raised, never yielded), a message over the 64 KiB limit may cost the
connection but not the stream, and a widget must only ever chart and tabulate valid readings.
Named cases pin each kind of junk; hypothesis mixes them with generated ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import math
import re
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jupyter_client.manager import KernelManager
from websockets.asyncio.server import Server as WsServer
from websockets.asyncio.server import ServerConnection
from websockets.asyncio.server import serve as ws_serve
from websockets.exceptions import ConnectionClosed

from iostat_widget import Monitor
from iostat_widget.clients.stream import SampleStream, stream
from iostat_widget.schema import Sample, SampleError, decode_sample, validate_sample
from iostat_widget.widget.loop_thread import LoopThread

from .junk import CASES, Frame, good, json_values, junk_frames, scenarios, valid, valid_frames

pytestmark = pytest.mark.timeout(120)

Plan = list[tuple[str, str | bytes]]


def numbers(value: object) -> Iterator[float]:
    """Every number inside a decoded sample."""
    if isinstance(value, dict):
        for item in value.values():
            yield from numbers(item)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield float(value)


def assert_clean(sample: Sample) -> None:
    """What a consumer may rely on: valid, finite, and text that can travel on as UTF-8."""
    assert validate_sample(sample) == sample
    assert all(math.isfinite(n) for n in numbers(sample)), sample
    sample["date"].encode("utf-8")
    sample["host"].encode("utf-8")


def plan(frames: list[Frame]) -> tuple[Plan, list[Sample]]:
    """Messages for ``frames`` plus a closing valid sentinel; the samples a client should yield."""
    messages: Plan = []
    expected: list[Sample] = []
    for seq, frame in enumerate([*frames, valid("sentinel")]):
        messages.append((frame.kind, frame.make(seq)))
        if frame.kind == "valid":
            expected.append(good(seq))
    return messages, expected


class JunkServer:
    """Sends a plan's messages in order, across as many connections as the client needs.

    After a message over the client's limit the client closes the connection; the rest of the
    plan goes to its next connection, so nothing but the oversized message is lost.
    """

    def __init__(self) -> None:
        self.pending: deque[tuple[str, str | bytes]] = deque()
        self.connections = 0
        self.pace = 0.0

    def load(self, messages: Plan, pace: float = 0.0) -> None:
        """Send ``messages`` next, ``pace`` seconds apart (0: in one burst)."""
        self.pending = deque(messages)
        self.pace = pace

    async def handler(self, connection: ServerConnection) -> None:
        self.connections += 1
        with contextlib.suppress(ConnectionClosed):
            while self.pending:
                kind, message = self.pending.popleft()
                await connection.send(message)
                if kind == "oversized":
                    break
                await asyncio.sleep(self.pace)
            await connection.wait_closed()

    async def start(self) -> WsServer:
        return await ws_serve(self.handler, "127.0.0.1", 0, max_size=None)


def port_of(server: WsServer) -> int:
    return int(next(iter(server.sockets)).getsockname()[1])


async def consume(frames: list[Frame]) -> tuple[list[Sample], list[Sample], SampleStream]:
    """Run ``frames`` through a real ``stream()``; what it yielded, what it should have."""
    messages, expected = plan(frames)
    junk = JunkServer()
    junk.load(messages)
    got: list[Sample] = []
    async with await junk.start() as server:
        source = stream(f"ws://127.0.0.1:{port_of(server)}/", backoff=(0.01, 0.05))
        iterator = aiter(source)
        try:
            async with asyncio.timeout(20):
                async for sample in iterator:
                    got.append(sample)
                    if sample["seq"] == expected[-1]["seq"]:
                        break
        finally:
            await iterator.aclose()  # type: ignore[attr-defined]
    return got, expected, source


def check_stream(frames: list[Frame]) -> None:
    got, expected, source = asyncio.run(consume(frames))
    for sample in got:
        assert_clean(sample)
    assert got == expected
    assert source.invalid == sum(f.kind == "junk" for f in frames)
    assert source.reconnects == sum(f.kind == "oversized" for f in frames)
    assert source.duplicates == 0


# -- decode_sample, pure ------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(CASES))
def test_decode_sample_judges_each_named_case(name: str) -> None:
    frame = CASES[name]
    message = frame.make(7)
    if frame.kind == "valid":
        assert decode_sample(message) == good(7)
    else:
        with pytest.raises(SampleError):
            decode_sample(message)


@settings(max_examples=200, deadline=None)
@given(frame=junk_frames, seq=st.integers(min_value=0, max_value=10**6))
def test_decode_sample_raises_only_sample_error_on_generated_junk(frame: Frame, seq: int) -> None:
    with pytest.raises(SampleError):
        decode_sample(frame.make(seq))


@settings(max_examples=100, deadline=None)
@given(frame=valid_frames, seq=st.integers(min_value=0, max_value=10**6))
def test_decode_sample_accepts_valid_samples_with_any_extras(frame: Frame, seq: int) -> None:
    assert decode_sample(frame.make(seq)) == good(seq)


@settings(max_examples=200, deadline=None)
@given(
    message=st.one_of(
        json_values.map(json.dumps),
        st.text(max_size=200),
        st.binary(max_size=200),
    )
)
def test_decode_sample_on_anything_returns_clean_or_raises_sample_error(
    message: str | bytes,
) -> None:
    try:
        sample = decode_sample(message)
    except SampleError:
        return
    assert_clean(sample)


# -- stream() against a junk server -------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(CASES))
def test_stream_skips_each_named_case_and_goes_on(name: str) -> None:
    check_stream([valid(), CASES[name], valid(), CASES[name], valid()])


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames=scenarios)
def test_stream_yields_exactly_the_valid_samples_of_a_generated_mix(frames: list[Frame]) -> None:
    check_stream(frames)


# -- Monitor against a junk server --------------------------------------------------------------
@pytest.fixture(scope="module")
def junk_server() -> Iterator[tuple[JunkServer, str]]:
    """One junk server on a loop thread of its own, reloaded with a new plan per monitor."""
    thread = LoopThread(name="junk-server")
    junk = JunkServer()
    server = thread.run(junk.start())
    try:
        yield junk, f"ws://127.0.0.1:{port_of(server)}/"
    finally:
        server.close()
        thread.run(server.wait_closed())
        thread.stop()


def watch(url: str, frames: list[Frame], junk: JunkServer) -> dict[str, Any]:
    """A Monitor fed ``frames``: its chart arrays, table and counters once the sentinel is in."""
    messages, expected = plan(frames)
    junk.load(messages)
    monitor = Monitor(url=url, window=100, rows=10)
    try:
        sentinel_ms = round(expected[-1]["t"] * 1000)
        deadline = time.monotonic() + 20
        while True:
            x = np.asarray(monitor.lines.x).astype("datetime64[ms]").astype(np.int64)
            if x.size and x.max() >= sentinel_ms:  # a lone sample is drawn a little wide
                break
            if monitor.state == "stopped":
                task = monitor.feeds[0].task
                error = task.exception() if task is not None and task.done() else None
                pytest.fail(f"the monitor stopped by itself: {error!r}")
            assert time.monotonic() < deadline, "the sentinel never reached the chart"
            time.sleep(0.01)
        assert monitor.stream is not None
        return {
            "y": np.asarray(monitor.lines.y, dtype=np.float64),
            "table": monitor.table,
            "invalid": monitor.stream.invalid,
            "expected": expected,
            "state": monitor.state,
        }
    finally:
        monitor.close()


def check_monitor(url: str, frames: list[Frame], junk: JunkServer) -> None:
    seen = watch(url, frames, junk)
    y = seen["y"]
    points = y[~np.isnan(y)]
    assert points.size and (points >= 0).all() and (points <= 100.5).all(), y
    assert "JUNK" not in seen["table"]
    dates = [html.unescape(d) for d in re.findall(r'<tr><td title="([^"]*)">', seen["table"])]
    assert dates == [s["date"] for s in reversed(seen["expected"])][:10]
    assert seen["invalid"] == sum(f.kind == "junk" for f in frames)
    assert seen["state"] == "live"


@pytest.mark.parametrize("name", sorted(CASES))
def test_monitor_charts_and_tabulates_only_valid_samples(
    junk_server: tuple[JunkServer, str], name: str
) -> None:
    junk, url = junk_server
    check_monitor(url, [valid(), valid(), CASES[name], valid(), CASES[name], valid()], junk)


def test_monitor_fed_generated_junk_shows_only_valid_samples(
    junk_server: tuple[JunkServer, str],
) -> None:
    junk, url = junk_server

    @settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
    @given(frames=scenarios)
    def fed(frames: list[Frame]) -> None:
        check_monitor(url, frames, junk)

    fed()


# -- a real kernel: what the widget receives must be sendable to the browser ---------------------
KERNEL_CODE = """
import time
from iostat_widget import Monitor
m = Monitor(url={url!r}, rows=5)
deadline = time.monotonic() + 20
while not (m.window.newest is not None and m.window.newest["seq"] == {last}):
    assert m.state != "stopped" and time.monotonic() < deadline, m.state
    time.sleep(0.02)
time.sleep(0.3)  # the last flush
print("rows", m.table.count("<tr><td title="), "invalid", m.stream.invalid)
m.close()
"""


def test_a_kernel_monitor_fed_a_lone_surrogate_raises_nothing(
    junk_server: tuple[JunkServer, str], tmp_path: Path
) -> None:
    junk, url = junk_server
    frames = [valid(), CASES["lone-surrogate-date"], *(valid() for _ in range(12))]
    messages, expected = plan(frames)
    junk.load(messages, pace=0.05)  # one table refresh per sample, as from a live server
    manager = KernelManager(kernel_name="python3")
    log = tmp_path / "kernel.log"
    with log.open("wb") as output:
        manager.start_kernel(stdout=output, stderr=output)
    client = manager.client()
    client.start_channels()
    text: list[str] = []

    def hook(message: dict[str, Any]) -> None:
        if message["msg_type"] == "stream":
            text.append(message["content"]["text"])
        elif message["msg_type"] == "error":
            text.append("\n".join(message["content"]["traceback"]))

    try:
        client.wait_for_ready(timeout=60)
        code = KERNEL_CODE.format(url=url, last=expected[-1]["seq"])
        reply = client.execute_interactive(code, timeout=60, output_hook=hook)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    output_text = "".join(text) + log.read_text(errors="replace")
    assert reply["content"]["status"] == "ok", output_text
    assert "Traceback" not in output_text, output_text[:3000]
    assert "rows 5 invalid 1" in output_text
