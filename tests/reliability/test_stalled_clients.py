"""Clients that never read: skipped at 16 KiB, dropped by the keepalive ping, costing no one else.

A viewer whose tab is frozen or whose network is stuck keeps its connection open and reads
nothing. The server must not queue samples for it without bound (memory), must not wait for it
(everyone else's latency), and must eventually let it go (the keepalive ping). Here waves of
stalled clients with tiny receive buffers meet a server sampling at 200 Hz, so they fill up in
well under a second, while healthy clients measure how late each sample reaches them.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import time

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from iostat_widget.transports.websocket import SampleSocket

from .support import (
    ServerProcess,
    consecutive,
    median,
    percentile,
    raise_open_files_limit,
    raw_websocket,
    reset,
    synthetic_server,
    ws_connect,
)

pytestmark = pytest.mark.timeout(180)

INTERVAL = 0.005  # 200 Hz: ~290 B samples fill a stalled client's buffers within a second
PING = 2.0  # keepalive: ping after 2 s, give up 2 s later, then websockets' 10 s close timeout
CLOSE_TIMEOUT = 10.0  # websockets' default for servers; our Server does not change it
HEALTHY = 5
STALLED = 30
BASELINE_SECONDS = 8.0
SKIP_ABOVE: int = inspect.signature(SampleSocket).parameters["skip_above"].default  # 16 KiB
SAMPLE_BYTES = 1024  # one encoded sample is ~300 B: the one write that crossed the cap
# Per stalled connection: its capped write buffer (skip_above, plus the sample that crossed it),
# and websockets' and asyncio's per-connection objects and read buffers (generously 64 KiB).
PER_STALLED = SKIP_ABOVE + SAMPLE_BYTES + 64 * 1024
SLACK = 8 * 1024 * 1024  # allocator noise, the history ring, import-time caches
# Measured latencies are around a millisecond or less, while ``t`` travels rounded to the
# millisecond (±0.5 ms) and a loaded two-core machine adds scheduling jitter of the same order:
# 20 % of such a median is below the resolution, so a 2 ms floor is allowed on top of it.
FLOOR = 0.002


class Healthy:
    """A client that reads everything and notes each sample's delay, tagged with a phase."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.phase = "warmup"
        self.seqs: list[int] = []
        self.latency: dict[str, list[float]] = {}
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for message in self.ws:
                now = time.time()
                sample = json.loads(message)
                self.seqs.append(sample["seq"])
                self.latency.setdefault(self.phase, []).append(now - sample["t"])


def set_phase(clients: list[Healthy], phase: str) -> None:
    for client in clients:
        client.phase = phase


async def stall_wave(
    server: ServerProcess, clients: list[Healthy], phase: str
) -> tuple[list[float], float, float]:
    """Open STALLED never-reading sockets; wait until the server drops them all.

    Returns the server's RSS readings while they were connected, and how long the drop took
    (first and last).
    """
    sockets = [await raw_websocket(server.port, rcvbuf=4096) for _ in range(STALLED)]
    opened = time.monotonic()
    set_phase(clients, phase)
    rss: list[float] = []
    first_drop = 0.0
    try:
        async with asyncio.timeout(2 * PING + CLOSE_TIMEOUT + 15):
            while True:
                stats = await server.latest_stats()
                rss.append(stats["rss"])
                if not first_drop and stats["clients"] < HEALTHY + STALLED:
                    first_drop = time.monotonic() - opened
                if stats["clients"] == HEALTHY:
                    break
        last_drop = time.monotonic() - opened
    finally:
        set_phase(clients, "between")
        for sock in sockets:
            reset(sock)
    return rss, first_drop, last_drop


async def baseline(server: ServerProcess, clients: list[Healthy], phase: str) -> list[float]:
    set_phase(clients, phase)
    rss = []
    end = time.monotonic() + BASELINE_SECONDS
    while time.monotonic() < end:
        rss.append((await server.latest_stats())["rss"])
    set_phase(clients, "between")
    return rss


async def test_stalled_clients_are_bounded_dropped_and_cost_others_nothing() -> None:
    raise_open_files_limit()
    # A 4 KiB kernel send buffer per client (see server_process.py) so the server's own cap, not
    # the kernel's autotuned megabytes, is what a stalled reader runs into.
    starting = synthetic_server(interval=INTERVAL, ping_interval=PING, stats_every=0.5, sndbuf=4096)
    async with starting as server:
        clients = [Healthy(await ws_connect(server.url)) for _ in range(HEALTHY)]
        try:
            await asyncio.sleep(2.0)  # past the history burst and the interpreter's warm-up
            rss_a = await baseline(server, clients, "baseline")
            skipped_before = (await server.latest_stats())["skipped"]
            rss_b, first_drop, last_drop = await stall_wave(server, clients, "stalled")
            skipped_after = (await server.latest_stats())["skipped"]
            rss_c = await baseline(server, clients, "baseline")
            rss_d, first_drop2, last_drop2 = await stall_wave(server, clients, "stalled")
        finally:
            await asyncio.gather(*(c.ws.close() for c in clients))
            await asyncio.gather(*(c.task for c in clients))
        assert await server.terminate() == 0
    assert "Traceback" not in server.stderr.decode(), server.stderr.decode()

    # Nothing lost for the healthy ones, stalled ones or not.
    for client in clients:
        assert consecutive(client.seqs)
    # The stalled clients did hit the cap (samples were skipped for them) ...
    assert skipped_after - skipped_before >= STALLED * 10
    # ... and were dropped by the keepalive: not before the first ping's deadline, and within
    # ping + pong timeout + close timeout (+ slack for the 0.5 s statistics period and load).
    for first, last in ((first_drop, last_drop), (first_drop2, last_drop2)):
        assert first >= 2 * PING - 0.5
        assert last <= 2 * PING + CLOSE_TIMEOUT + 5
    # Memory: bounded by what the stalled clients may hold, over the quiet baseline.
    quiet = max(rss_a + rss_c)
    bound = quiet + STALLED * PER_STALLED + SLACK
    peak = max(rss_b + rss_d)
    assert peak <= bound, f"RSS peak {peak / 2**20:.1f} MiB over bound {bound / 2**20:.1f} MiB"
    # Latency of the healthy: median with stalled clients within 20 % (+ floor) of without.
    calm = [x for c in clients for x in c.latency.get("baseline", [])]
    stalled = [x for c in clients for x in c.latency.get("stalled", [])]
    assert len(calm) > 1000 and len(stalled) > 1000
    limit = median(calm) * 1.2 + FLOOR
    report = (
        f"latency median {median(calm) * 1e3:.2f} ms calm, {median(stalled) * 1e3:.2f} ms "
        f"stalled (p90 {percentile(calm, 0.9) * 1e3:.2f} / {percentile(stalled, 0.9) * 1e3:.2f})"
        f"; RSS quiet {quiet / 2**20:.1f} MiB, peak {peak / 2**20:.1f} MiB, bound "
        f"{bound / 2**20:.1f} MiB; drops after {first_drop:.1f}-{last_drop:.1f} s and "
        f"{first_drop2:.1f}-{last_drop2:.1f} s"
    )
    print(report)
    assert median(stalled) <= limit, report
