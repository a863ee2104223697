"""Figures 4 and 5: what a live ``Monitor`` costs the kernel it runs in, and how fresh it is.

All in one real ipykernel (``kernel_client.Kernel``): first idle, the baseline; then one Monitor
at a time, with the embedded server (which runs in the kernel too, on the monitor's loop thread,
so its sampling is part of the figure) and with ``iostat-widget serve`` in its own process
(``Monitor(url=...)``: the client's cost alone). Kernel CPU is psutil user+system of the kernel
process over the window. Latency is measured inside the kernel by a traitlets observer on the
chart's ``x``: time when the new data is applied to the model minus the newest sample's ``t``;
its baseline is the same sample's age when the monitor's stream received it. Memory: a fast
feeder sends 100,000 valid samples; RSS after all of them is compared with RSS after 1,000.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import psutil

from .config import Config
from .kernel_client import Kernel
from .procs import PYTHON, Child, percentile
from .report import FigureResult, Row, Target

__all__ = ["row_names", "run"]

SETUP = """
import gc, json, os, time
import psutil
from iostat_widget import Monitor
from iostat_widget.widget.runtime import KernelRuntime
_bench = {"lat": [], "age": [], "m": None}

def _bench_observe(change):
    m = _bench["m"]
    newest = m.window.newest if m is not None else None
    if newest is not None:
        _bench["lat"].append((time.time() - newest["t"]) * 1000.0)
        # The monitor's own age of that sample when its stream received it.
        feeds = getattr(m, "feeds", None)
        age = getattr(feeds[0], "age_ms", None) if feeds else getattr(m, "_age_ms", None)
        if age is not None:
            _bench["age"].append(age)

def _bench_start(**kwargs):
    m = Monitor(**kwargs)
    _bench["m"] = m
    m.lines.observe(_bench_observe, names=["x"])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (m.state != "live" or len(m.window) == 0):
        time.sleep(0.02)
    return m.state

def _bench_stop():
    m, _bench["m"] = _bench["m"], None
    if m is not None:
        m.close()
    deadline = time.monotonic() + 10
    while KernelRuntime.current() is not None and time.monotonic() < deadline:
        time.sleep(0.02)

def _bench_memory(first, total, limit):
    m = _bench["m"]
    def settle(n):
        deadline = time.monotonic() + limit
        seen, moved = m.stream.received, time.monotonic()
        while m.stream.received < n and time.monotonic() < deadline:
            if m.stream.received != seen:
                seen, moved = m.stream.received, time.monotonic()
            elif time.monotonic() - moved > 15:  # the feed stalled (or every message was invalid)
                break
            time.sleep(0.01)
        time.sleep(0.3)  # the last coalesced update is sent
        gc.collect()
        return [m.stream.received, psutil.Process().memory_info().rss, m.updates]
    return json.dumps([settle(first), settle(total)])
"""

LIMITS = {1.0: 1.0, 0.1: 5.0}  # monitor interval (s) -> kernel CPU target (% of a core)
LATENCY_LIMIT_MS = 20.0


def _cpu_name(interval: float, embedded: bool) -> str:
    if embedded:
        return f"4. kernel CPU, Monitor(interval={interval}), embedded server, % of a core"
    return f"4. kernel CPU, Monitor(url=...) at {1 / interval:g} Hz, server apart, % of a core"


def _latency_name(interval: float, q: int) -> str:
    return f"5. sample → widget model latency p{q}, {1 / interval:g} Hz, ms"


def _memory_name(total: int) -> str:
    return f"4. kernel RSS after {total:,} samples, MB"


def row_names(config: Config) -> list[str]:
    names = [_cpu_name(i, True) for i in LIMITS] + [_cpu_name(i, False) for i in LIMITS]
    names.append(_memory_name(config.memory_samples[1]))
    names += [_latency_name(i, q) for i in LIMITS for q in (50, 99)]
    return names


@dataclass
class Window:
    """One measured window of one monitor."""

    cpu_percent: float
    latencies: list[float]
    ages: list[float]
    updates: int
    server_cpu: float | None = None


def _cpu(kernel: Kernel) -> float:
    times = psutil.Process(kernel.pid).cpu_times()
    return float(times.user + times.system)


def _window(kernel: Kernel, config: Config, server: Child | None = None) -> Window:
    time.sleep(config.kernel_settle)
    kernel.run("_bench['lat'].clear(); _bench['age'].clear(); _bench['n0'] = _bench['m'].updates")
    cpu0, t0 = _cpu(kernel), time.monotonic()
    server0 = server.cpu_seconds() if server is not None else 0.0
    time.sleep(config.kernel_seconds)
    cpu1, t1 = _cpu(kernel), time.monotonic()
    server1 = server.cpu_seconds() if server is not None else 0.0
    lat, age, updates = kernel.evaluate(
        "[list(_bench['lat']), list(_bench['age']), _bench['m'].updates - _bench['n0']]"
    )
    return Window(
        (cpu1 - cpu0) / (t1 - t0) * 100.0,
        lat,
        age,
        updates,
        (server1 - server0) / (t1 - t0) * 100.0 if server is not None else None,
    )


def _monitor(kernel: Kernel, config: Config, arguments: str, server: Child | None) -> Window:
    state = kernel.evaluate(f"_bench_start({arguments})")
    if state != "live":
        raise RuntimeError(f"Monitor({arguments}) is {state!r}, not live, after 20 s")
    try:
        return _window(kernel, config, server)
    finally:
        kernel.run("_bench_stop()")


def _serve(interval: float) -> Child:
    argv = [PYTHON, "-m", "iostat_widget", "serve", "--port", "0", "--interval", str(interval)]
    return Child(argv, "kernel-serve")


def _memory(kernel: Kernel, config: Config) -> tuple[list[int], list[int]]:
    first, total = config.memory_samples
    feed = [PYTHON, "-m", "benchmarks.baseline_server", "--feed", f"{first},{total}"]
    with Child([*feed, "--pause", "3", "--max-seconds", "600"], "kernel-feeder") as feeder:
        port = feeder.wait_for(r"listening (\d+)").group(1)
        state = kernel.evaluate(f"_bench_start(url='ws://127.0.0.1:{port}/', window=60)")
        if state != "live":
            raise RuntimeError(f"Monitor on the feeder is {state!r}")
        try:
            result = json.loads(kernel.evaluate(f"_bench_memory({first}, {total}, 300)", 400))
        finally:
            kernel.run("_bench_stop()")
    before, after = result
    if before[0] < first or after[0] < total:
        raise RuntimeError(f"the monitor got {after[0]:,} of {total:,} fed samples")
    return before, after


def run(config: Config) -> FigureResult:
    rows: list[Row] = []
    with Kernel() as kernel:
        kernel.run(SETUP)
        time.sleep(config.kernel_settle)
        cpu0, t0 = _cpu(kernel), time.monotonic()
        time.sleep(config.kernel_seconds)
        idle = (_cpu(kernel) - cpu0) / (time.monotonic() - t0) * 100.0
        embedded = {i: _monitor(kernel, config, f"interval={i}", None) for i in LIMITS}
        apart: dict[float, Window] = {}
        for interval in LIMITS:
            with _serve(interval) as server:
                url = server.wait_for(r"stream:\s+(ws://\S+)").group(1)
                apart[interval] = _monitor(kernel, config, f"url={url!r}", server)
        before, after = _memory(kernel, config)
        iopub = kernel.iopub_messages
    for interval, limit in LIMITS.items():
        rows.append(
            Row(
                _cpu_name(interval, True),
                embedded[interval].cpu_percent,
                idle,
                "idle kernel",
                Target("<=", limit, unit="%"),
            )
        )
    for interval in LIMITS:
        rows.append(
            Row(_cpu_name(interval, False), apart[interval].cpu_percent, idle, "idle kernel")
        )
    rows.append(
        Row(
            _memory_name(config.memory_samples[1]),
            after[1] / 2**20,
            before[1] / 2**20,
            f"after {before[0]:,}",
            Target("<=", 5, on="excess", unit="MB"),
        )
    )
    for interval in LIMITS:
        w = embedded[interval]
        for q in (50, 99):
            rows.append(
                Row(
                    _latency_name(interval, q),
                    percentile(w.latencies, q),
                    percentile(w.ages, q),
                    "received by stream",
                    Target("<=", LATENCY_LIMIT_MS, unit="ms") if q == 99 else None,
                )
            )
    notes = [
        f"One python3 ipykernel started with jupyter_client; windows of {config.kernel_seconds:g} "
        f"s starting {config.kernel_settle:g} s after the monitor went live; idle kernel "
        f"(iostat_widget imported, no monitor): {idle:.3f} % of a core. A background thread "
        f"drained IOPub as a front end would ({iopub:,} messages).",
        "Embedded rows: `Monitor(interval=...)` starts the server inside the kernel (sampling, "
        "encoding and the WebSocket hop all run in the kernel process). Apart rows: "
        "`iostat-widget serve` in its own process and `Monitor(url=...)`.",
    ]
    for interval in LIMITS:
        for label, w in (("embedded", embedded[interval]), ("apart", apart[interval])):
            extra = f"; server process {w.server_cpu:.3f} %" if w.server_cpu is not None else ""
            notes.append(
                f"{1 / interval:g} Hz {label}: kernel {w.cpu_percent:.3f} % of a core{extra}; "
                f"{w.updates} chart updates; sample → model p50/p99/max "
                f"{percentile(w.latencies, 50):.1f}/{percentile(w.latencies, 99):.1f}/"
                f"{max(w.latencies, default=0):.1f} ms over {len(w.latencies)} updates "
                f"(received by stream p99 {percentile(w.ages, 99):.1f} ms)"
            )
    notes.append(
        f"Memory: a Monitor (window 60) on `benchmarks.baseline_server --feed` (valid samples "
        f"as fast as the monitor reads them): RSS {before[1] / 2**20:.1f} MB after "
        f"{before[0]:,} samples and {before[2]:,} chart updates, {after[1] / 2**20:.1f} MB after "
        f"{after[0]:,} samples and {after[2]:,} updates (gc.collect() before each reading)."
    )
    return FigureResult(rows, notes)
