"""Figure 3: bytes on the wire per sample per viewer: WebSocket (JSON objects and the compact
form, subprotocol ``iostat.compact.v1``), long polling, naive polling.

Each client talks to the server through its own byte-counting proxy (``proxy.py``), so every
header and frame byte is counted as a socket sees it. The server runs at a fast interval so a
steady state (a full 60-sample history ring) is reached in seconds; bytes per sample do not
depend on the rate as long as the naive poller asks once per interval, as a 1 s poller does at
1 Hz. The WebSocket figure has its own baseline: a bare ``websockets`` server's frames of the
JSON sample's size. The compact viewer's bytes include its schema messages, spread over the
samples (one at connect, in the history, and one every 1000 samples).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from iostat_widget.compact import PROTOCOL

from .config import Config
from .fanout import payload_size
from .procs import PYTHON, Child
from .proxy import CountingProxy
from .report import FigureResult, Row, Target

__all__ = ["row_names", "run"]

PAYLOAD = "3. sample payload as JSON, B"
WS = "3. WebSocket JSON, B per sample per viewer"
COMPACT = "3. WebSocket compact, B per sample per viewer"
HEADER = "3. compact frame header, B"
LONG = "3. long polling, B per sample per viewer"
NAIVE = "3. naive polling once per interval, B per sample per viewer"


def row_names(config: Config) -> list[str]:
    return [PAYLOAD, WS, COMPACT, HEADER, LONG, NAIVE]


@dataclass
class Stream:
    """Frames seen by one WebSocket viewer: receive time, proxy counters, payload."""

    opened: float = 0.0
    handshake: int = 0
    frames: list[tuple[float, int, int, str]] = field(default_factory=list)

    def per_frame(self, t0: float, t1: float) -> tuple[float, float]:
        """Wire bytes and payload bytes per frame between the first and last frame in window."""
        inside = [f for f in self.frames if t0 <= f[0] <= t1]
        if len(inside) < 2:
            raise RuntimeError(f"only {len(inside)} WebSocket frames in the window")
        first, last = inside[0], inside[-1]
        count = len(inside) - 1
        wire = (last[1] - first[1] + last[2] - first[2]) / count
        payload = sum(len(f[3].encode()) for f in inside[1:]) / count
        return wire, payload


async def _watch(
    url: str, proxy: CountingProxy, stream: Stream, until: float, compact: bool = False
) -> None:
    offer = [Subprotocol(PROTOCOL)] if compact else None
    async with connect(
        url, compression=None, ping_interval=None, close_timeout=1, subprotocols=offer
    ) as ws:
        if compact and ws.subprotocol != PROTOCOL:
            raise RuntimeError("the server did not choose the compact form")
        stream.opened = time.time()
        stream.handshake = proxy.up + len(ws.response.serialize()) if ws.response else proxy.up
        while (left := until - time.time()) > 0:
            try:
                message = await asyncio.wait_for(ws.recv(), left)
            except TimeoutError:
                break
            text = message if isinstance(message, str) else message.decode()
            stream.frames.append((time.time(), proxy.down, proxy.up, text))


async def _get(port: int, path: str, limit: float = 40.0) -> tuple[int, bytes]:
    """One HTTP/1.1 GET with the few headers a command-line client sends; (status, body)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "User-Agent: iostat-bench/1.0\r\nAccept: */*\r\n\r\n".encode()
        )
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), limit)  # the server closes after replying
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def _seqs(body: bytes) -> list[int]:
    return [int(sample["seq"]) for sample in json.loads(body)] if body else []


async def _long_poll(proxy: CountingProxy, after: int, until: float) -> tuple[int, int]:
    """Long-poll until ``until``; (bytes, new samples)."""
    start, samples = proxy.total, 0
    while time.time() < until:
        status, body = await _get(proxy.port, f"/poll?after={after}&timeout=25")
        new = [seq for seq in _seqs(body) if seq > after] if status == 200 else []
        samples += len(new)
        after = max([after, *new])
    return proxy.total - start, samples


async def _naive(proxy: CountingProxy, period: float, until: float) -> tuple[int, int, int]:
    """Ask for everything once per ``period``; (bytes, new samples, requests).

    The first answer only tells the poller where it stands; counting starts after it.
    """
    _, body = await _get(proxy.port, "/poll?after=-1&timeout=0")
    newest = max(_seqs(body), default=-1)
    start, samples, requests = proxy.total, 0, 0
    deadline = time.monotonic()
    while time.time() < until:
        deadline += period
        await asyncio.sleep(max(deadline - time.monotonic(), 0.0))
        _, body = await _get(proxy.port, "/poll?after=-1&timeout=0")
        requests += 1
        seqs = _seqs(body)
        samples += len([seq for seq in seqs if seq > newest])
        newest = max([newest, *seqs])
    return proxy.total - start, samples, requests


async def _measure(config: Config, product: int, baseline: int) -> dict[str, Any]:
    ports = (product, product, product, product, baseline)
    proxies = [await CountingProxy(port).start() for port in ports]
    ws_proxy, compact_proxy, long_proxy, naive_proxy, base_proxy = proxies
    try:
        warm = 60 * config.wire_interval + 1.0  # the 60-sample history ring fills
        until = time.time() + warm + config.wire_seconds + 0.5
        product_ws, compact_ws, base_ws = Stream(), Stream(), Stream()
        compact_url = f"ws://127.0.0.1:{compact_proxy.port}/iostat"
        watchers = [
            asyncio.create_task(
                _watch(f"ws://127.0.0.1:{ws_proxy.port}/iostat", ws_proxy, product_ws, until)
            ),
            asyncio.create_task(_watch(compact_url, compact_proxy, compact_ws, until, True)),
            asyncio.create_task(
                _watch(f"ws://127.0.0.1:{base_proxy.port}/", base_proxy, base_ws, until)
            ),
        ]
        await asyncio.sleep(warm)
        _, body = await _get(product, "/poll?after=-1&timeout=0")  # direct: not counted
        after = max(_seqs(body))
        t0 = time.time()
        t1 = t0 + config.wire_seconds
        (
            (long_bytes, long_samples),
            (naive_bytes, naive_samples, naive_requests),
        ) = await asyncio.gather(
            _long_poll(long_proxy, after, t1), _naive(naive_proxy, config.wire_interval, t1)
        )
        await asyncio.gather(*watchers)
    finally:
        for proxy in proxies:
            await proxy.aclose()
    ws_wire, ws_payload = product_ws.per_frame(t0, t1)
    base_wire, base_payload = base_ws.per_frame(t0, t1)
    compact_frames = [f[3] for f in compact_ws.frames]
    return {
        "ws": (ws_wire, ws_payload),
        "compact": compact_ws.per_frame(t0, t1),
        "schema": next((f for f in compact_frames if f.startswith("{")), ""),
        "compact_sample": compact_frames[-1],
        "compact_max": max(len(f.encode()) for f in compact_frames if f.startswith("[")),
        "base": (base_wire, base_payload),
        "handshake": product_ws.handshake,
        "sample": product_ws.frames[-1][3],
        "long": long_bytes / max(long_samples, 1),
        "long_samples": long_samples,
        "naive": naive_bytes / max(naive_samples, 1),
        "naive_samples": naive_samples,
        "naive_requests": naive_requests,
        "history": len(_seqs(body)),
    }


def _values(obj: Any) -> list[Any]:
    if isinstance(obj, dict):
        return [v for key, value in obj.items() if key != "date" for v in _values(value)]
    if isinstance(obj, list):
        return [v for value in obj for v in _values(value)]
    return [obj]


def _values_only(sample: dict[str, Any]) -> int:
    """Bytes of the same sample as a bare JSON array of its values: no keys, no date."""
    return len(json.dumps(_values(sample), separators=(",", ":")))


def _breakdown(sample: dict[str, Any]) -> str:
    parts = [
        f"`{key}` {len(json.dumps({key: value}, separators=(',', ':'))) - 1} B"
        for key, value in sample.items()
    ]
    return ", ".join(parts)


def run(config: Config) -> FigureResult:
    interval = str(config.wire_interval)
    serve = [PYTHON, "-m", "iostat_widget", "serve", "--port", "0", "--interval", interval]
    base = [PYTHON, "-m", "benchmarks.baseline_server", "--interval", interval]
    with (
        Child(serve, "wire-serve") as product,
        Child([*base, "--size", str(payload_size())], "wire-baseline") as baseline,
    ):
        product_port = int(product.wait_for(r"ws://127\.0\.0\.1:(\d+)/").group(1))
        baseline_port = int(baseline.wait_for(r"listening (\d+)").group(1))
        m = asyncio.run(_measure(config, product_port, baseline_port))
    ws_wire, payload = m["ws"]
    compact_wire, compact_payload = m["compact"]
    base_wire, base_payload = m["base"]
    sample = json.loads(m["sample"])
    header = 2 if payload <= 125 else 4 if payload < 65536 else 10
    rows = [
        Row(PAYLOAD, payload, _values_only(sample), "values only"),
        Row(WS, ws_wire, base_wire, "bare websockets"),
        Row(COMPACT, compact_wire, ws_wire, "WebSocket JSON", Target("<=", 62, unit="B")),
        Row(
            HEADER,
            compact_wire - compact_payload,
            base_wire - base_payload,
            "bare websockets",
            Target("<=", 2, unit="B"),
        ),
        Row(LONG, m["long"], ws_wire, "WebSocket"),
        Row(NAIVE, m["naive"], ws_wire, "WebSocket"),
    ]
    notes = [
        f"`iostat-widget serve --interval {interval}` (default history 60) and the bare "
        f"baseline server at the same interval; {config.wire_seconds:g} s window after the "
        "history ring was full. Bytes counted by a TCP proxy per client (application bytes, "
        "both directions; TCP/IP headers, about 52-66 B per packet on loopback, not included).",
        f"Payload {payload:.1f} B on average: {_breakdown(sample)}. The same values as a bare "
        f"JSON array (no keys, no `date`) take {_values_only(sample)} B. A WebSocket frame "
        f"header is 2 B only for payloads ≤ 125 B; at {payload:.0f} B it is {header} B "
        "(RFC 6455 16-bit extended length).",
        f"Compact form (`iostat.compact.v1`): {compact_payload:.1f} B of payload per sample "
        f"on average, schema messages included, e.g. `{m['compact_sample']}`, after a schema "
        f"message of {len(m['schema'].encode())} B sent once per connection and whenever it "
        f"changes. The largest sample message was {m['compact_max']} B: under 126 B, the frame "
        "header is 2 B.",
        f"WebSocket handshake: {m['handshake']} B once per connection (not in the per-sample "
        "figure).",
        f"Long polling: {m['long_samples']} samples, each request a new TCP connection "
        "(`Connection: close`) with Host, User-Agent and Accept headers only (a browser sends "
        "several hundred bytes more).",
        f"Naive polling: {m['naive_requests']} requests of `/poll?after=-1&timeout=0`, one per "
        f"interval, each answered with the whole ring ({m['history']} samples); "
        f"{m['naive_samples']} new samples learned.",
    ]
    return FigureResult(rows, notes)
