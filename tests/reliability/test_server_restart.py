"""The server dies (SIGKILL) and comes back on the same port: clients heal, the chart shows it.

A machine's monitor restarts with upgrades and crashes. The kernel-side ``stream()`` and the
``Monitor`` widget must reconnect by themselves within their backoff (at most 2 s, with jitter),
say ``reconnecting`` meanwhile, draw the outage as a gap instead of a line across it, and do all
that with the same single background thread and task they had before: a reconnect that left a
second task behind would double every sample and leak with every outage.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
import time
from collections.abc import Callable

import numpy as np
import pytest

from iostat_widget import Monitor
from iostat_widget.clients.stream import StreamState, stream
from iostat_widget.schema import Sample, validate_sample
from iostat_widget.widget.runtime import KernelRuntime

from .support import WAIT, free_port, runtime_task_names, synthetic_server

pytestmark = pytest.mark.timeout(90)

INTERVAL = 0.05
DOWN = 1.0  # seconds between the kill and the restart (plus the new process's start-up)
RECONNECT_WITHIN = 3.0  # the promise: back within 3 s of the server listening again


def loop_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "iostat-widget-loop"]


async def cancelled(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def until(condition: Callable[[], bool], what: str, limit: float = WAIT) -> float:
    """Wait for ``condition``; return the monotonic time it was first seen true."""
    async with asyncio.timeout(limit):
        while not condition():
            await asyncio.sleep(0.005)
    return time.monotonic()


async def test_stream_and_monitor_heal_after_sigkill_and_show_the_gap() -> None:
    assert loop_threads() == [] and KernelRuntime.current() is None
    port = free_port()
    states: list[tuple[float, StreamState]] = []
    received: list[tuple[float, Sample]] = []
    monitor_states: list[StreamState] = []

    async def consume() -> None:
        url = f"ws://127.0.0.1:{port}/iostat"
        source = stream(url, on_state=lambda s: states.append((time.monotonic(), s)))
        async for sample in source:
            received.append((time.monotonic(), sample))

    async def watch(monitor: Monitor) -> None:
        while True:
            if not monitor_states or monitor_states[-1] != monitor.state:
                monitor_states.append(monitor.state)
            await asyncio.sleep(0.005)

    def newer_than(moment: float) -> int:
        return sum(1 for s in monitor.window.rows(len(monitor.window)) if s["t"] > moment)

    async with contextlib.AsyncExitStack() as stack:
        server = await stack.enter_async_context(synthetic_server(port=port, interval=INTERVAL))
        consumer = asyncio.create_task(consume())
        monitor = Monitor(url=server.url, window=400)
        stack.callback(monitor.close)
        watcher = asyncio.create_task(watch(monitor))
        for task in (consumer, watcher):
            stack.push_async_callback(cancelled, task)
        await until(lambda: len(received) >= 20 and len(monitor.window) >= 20, "live")
        threads_before = loop_threads()
        tasks_before = runtime_task_names()
        test_tasks_before = len(asyncio.all_tasks())
        assert len(threads_before) == 1 and tasks_before.count("iostat-monitor") == 1

        server.process.send_signal(signal.SIGKILL)
        killed = time.time()
        await until(lambda: monitor.state == "reconnecting", "monitor notices")
        await until(lambda: states[-1][1] == "reconnecting", "stream notices")
        old_count = len(received)
        last_old = received[-1][1]
        await asyncio.sleep(DOWN)

        async with synthetic_server(port=port, interval=INTERVAL) as second:
            listening_at = time.monotonic()
            stream_back = await until(lambda: len(received) > old_count, "stream back")
            monitor_back = await until(lambda: newer_than(killed) > 0, "monitor back")
            await until(lambda: newer_than(killed) >= 10, "ten new samples charted")
            x = np.asarray(monitor.lines.x).astype("datetime64[ms]").astype(np.int64) / 1000.0
            y = np.asarray(monitor.lines.y, dtype=np.float64)
            threads_after = loop_threads()
            tasks_after = runtime_task_names()
            test_tasks_after = len(asyncio.all_tasks())
            monitor_state = monitor.state
            stream_states = [s for _, s in states]
            assert await second.terminate() == 0

    print(
        f"back after {stream_back - listening_at:.2f} s (stream), "
        f"{monitor_back - listening_at:.2f} s (monitor) of the server listening again"
    )
    # Back within 3 s of the server listening again, both of them.
    assert stream_back - listening_at <= RECONNECT_WITHIN
    assert monitor_back - listening_at <= RECONNECT_WITHIN
    # States: live, then reconnecting while down, then live again; nothing else in between.
    assert stream_states == ["live", "reconnecting", "live"]
    assert [s for s in monitor_states if s != "connecting"][:3] == ["live", "reconnecting", "live"]
    assert monitor_state == "live"
    # The new server numbers from 0 again; the stream yields it as new, never twice.
    new = [s for _, s in received[old_count:]]
    assert new[0]["t"] > last_old["t"] and new[0]["seq"] < last_old["seq"]
    assert all(validate_sample(s) == s for _, s in received)
    # The chart: one NaN column between the last old point and the first new one, no line across.
    points = ~np.isnan(y[0])
    last_old_index = int(np.flatnonzero((x < killed) & points)[-1])
    first_new_index = int(np.flatnonzero((x > killed) & points)[0])
    between = y[:, last_old_index + 1 : first_new_index]
    assert between.shape[1] == 1 and np.isnan(between).all(), (x, y)
    assert x[last_old_index] < x[last_old_index + 1] < x[first_new_index]
    # That one gap, in every row (us+sy, us, this kernel), and no other (column 0 is the point
    # that sets the time span).
    assert y.shape[0] == 3 and np.isnan(y[:, 0]).all() and np.isnan(y[:, 1:]).sum() == 3
    finite = y[~np.isnan(y)]
    assert (finite >= 0).all() and (finite <= 100.5).all()
    # No second thread or task: the same loop thread, the same set of tasks.
    assert threads_after == threads_before
    assert tasks_after == tasks_before
    assert test_tasks_after == test_tasks_before
    # And nothing left once closed.
    assert loop_threads() == [] and KernelRuntime.current() is None
