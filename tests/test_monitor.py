"""The Monitor widget without a browser: fed by a real server, read through its widget state."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, get_type_hints

import numpy as np
import psutil
import pytest

from iostat_widget import Monitor
from iostat_widget.server import Server
from iostat_widget.sources.process_cost import CostMeter, ProcessTimes
from iostat_widget.sources.synthetic import SyntheticSampler, synthetic_sample
from iostat_widget.widget import monitor as monitor_module
from iostat_widget.widget.cells import CellRun
from iostat_widget.widget.charts import CHARTS, Chart
from iostat_widget.widget.loop_thread import LoopThread
from iostat_widget.widget.runtime import KernelRuntime
from iostat_widget.widget.status import FeedStatus

from .helpers import our_threads, serving_in_thread, wait_for


def listening_ports() -> set[int]:
    return {c.laddr.port for c in psutil.Process().net_connections("tcp") if c.status == "LISTEN"}


@pytest.fixture
def nothing_left_behind() -> Iterator[None]:
    ports_before = listening_ports()
    yield
    assert KernelRuntime.current() is None
    assert our_threads() == []
    assert listening_ports() <= ports_before
    established = [c for c in psutil.Process().net_connections("tcp") if c.status == "ESTABLISHED"]
    assert established == []


@pytest.mark.usefixtures("nothing_left_behind")
def test_embedded_monitor_updates_chart_and_table_in_place() -> None:
    monitor = Monitor(interval=0.05, window=20, rows=5)
    try:
        wait_for(lambda: len(monitor.window) >= 8)
        x = np.asarray(monitor.lines.x)
        bar = monitor.text
        first_table = monitor.table
        wait_for(lambda: (n := monitor.window.newest) is not None and n["seq"] >= 30)
        assert monitor.state == "live" and monitor.updates >= 2
        x2, y2 = np.asarray(monitor.lines.x), np.asarray(monitor.lines.y)
        assert x2.shape == (21,) and y2.shape == (3, 21)  # fixed window, after the span's start
        assert x2[-1] > x[-1]
        assert np.isnan(y2[:, 0]).all()  # the span's start draws nothing
        y2 = y2[:, 1:]
        assert np.all(y2[0] >= y2[1])  # us+sy on top of us
        assert np.all((y2[:2] >= 0) & (y2[:2] <= 100.5))  # y2[2]: this kernel (NaN for some)
        table = monitor.table
        assert monitor.text is bar and table != first_table  # same widget, new rows
        assert table.count("<tr>") == 1 + 5
        newest = monitor.window.newest
        assert newest is not None and f'title="{newest["date"]}"' in table
        [shown] = monitor.text.feeds  # what the front end shows
        assert shown["state"] == "live" and shown["samples"] >= 1
        assert monitor.errors == 0 and "%" in monitor.headline
        assert our_threads() == ["iostat-widget-loop"]
    finally:
        monitor.close()
    assert monitor.state == "stopped"


@pytest.mark.usefixtures("nothing_left_behind")
def test_many_monitors_share_one_embedded_server() -> None:
    monitors = [Monitor(interval=0.05) for _ in range(5)]
    try:
        urls = {m.stream.url for m in monitors if m.stream is not None}
        assert len(urls) == 1
        runtime = KernelRuntime.current()
        assert runtime is not None and runtime.users == 5
        wait_for(lambda: all(len(m.window) >= 3 for m in monitors))
        assert our_threads() == ["iostat-widget-loop"]
        assert runtime.server is not None and runtime.server.hub.clients == 5
    finally:
        for monitor in monitors[:-1]:
            monitor.close()
    assert KernelRuntime.current() is runtime  # still serving the last one
    monitors[-1].close()


@contextmanager
def remote_monitor(server: Server) -> Iterator[Monitor]:
    """A Monitor watching ``server``, which runs on a thread of its own like a remote host."""
    with serving_in_thread(server) as running:
        monitor = Monitor(url=running.url)
        try:
            yield monitor
        finally:
            monitor.close()


@pytest.mark.usefixtures("nothing_left_behind")
def test_remote_url_monitor_and_restart() -> None:
    remote = Server("127.0.0.1", 0, interval=0.05, sampler=SyntheticSampler(host="db-7"))
    with remote_monitor(remote) as monitor:
        wait_for(lambda: len(monitor.window) >= 3)
        newest = monitor.window.newest
        assert newest is not None and newest["host"] == "db-7"
        assert KernelRuntime.current() is not None
        assert KernelRuntime.current().server is None  # type: ignore[union-attr]
        monitor.stop()
        assert monitor.state == "stopped" and our_threads() == []
        count = len(monitor.window)
        monitor.start()
        wait_for(lambda: monitor.state == "live")
        wait_for(lambda: (n := monitor.window.newest) is not None and n["seq"] > count)


@pytest.mark.usefixtures("nothing_left_behind")
def test_unreachable_url_shows_reconnecting_not_an_exception() -> None:
    monitor = Monitor(url="ws://127.0.0.1:9/iostat")
    try:
        wait_for(lambda: monitor.state == "reconnecting")
        assert monitor.text.feeds[0]["state"] == "reconnecting"
    finally:
        monitor.close()


def test_bad_url_raises_at_once_and_leaks_nothing() -> None:
    with pytest.raises(ValueError, match="WebSocket URL"):
        Monitor(url="http://127.0.0.1:1/")
    assert KernelRuntime.current() is None and our_threads() == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"url": "http://127.0.0.1:1/"}, "WebSocket URL"),  # before start(), not on the loop
        ({"urls": ["ws://127.0.0.1:1/iostat", "db-1:8765"]}, "WebSocket URL"),
        ({"interval": 0}, "interval"),
        ({"interval": float("nan")}, "interval"),
        ({"interval": "1"}, "interval"),
    ],
)
def test_bad_arguments_raise_when_the_monitor_is_made(
    options: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Monitor(autostart=False, **options)
    assert KernelRuntime.current() is None and our_threads() == []


@pytest.mark.usefixtures("nothing_left_behind")
def test_no_task_left_on_the_loop_after_stop() -> None:
    first, second = Monitor(interval=0.05), Monitor(interval=0.05)
    runtime = KernelRuntime.current()
    assert runtime is not None

    async def task_names() -> list[str]:
        return [t.get_name() for t in asyncio.all_tasks() if t is not asyncio.current_task()]

    def tasks() -> list[str]:
        return sorted(runtime.loop_thread.run(task_names()))

    try:
        wait_for(lambda: len(second.window) >= 2)
        assert tasks().count("iostat-monitor") == 2
        first.stop()
        assert tasks().count("iostat-monitor") == 1  # the stopped monitor's task is gone
        assert "iostat-hub" in tasks()  # the server still samples for the second monitor
    finally:
        first.close()
        second.close()


@pytest.mark.usefixtures("nothing_left_behind")
def test_token_in_url_is_used_but_never_shown() -> None:
    token = "s3cret-token-value"
    with remote_monitor(Server("127.0.0.1", 0, interval=0.05, token=token)) as monitor:
        wait_for(lambda: len(monitor.window) >= 2 and "token=" in repr(monitor.text.feeds))
        shown = repr(monitor.text.feeds)
        assert token not in shown and "token=***" in shown
        assert token not in repr(monitor)


@pytest.mark.usefixtures("nothing_left_behind")
def test_container_scope_is_labelled() -> None:
    sampler = SyntheticSampler(scope="container")
    with remote_monitor(Server("127.0.0.1", 0, interval=0.05, sampler=sampler)) as monitor:
        header = monitor.charts["cpu"].header
        # Both are set in one update on the loop thread: wait for the later one too.
        wait_for(lambda: "container" in header.value and "container" in monitor.headline)
        assert "CPU · container" in header.value
        assert "· container" in monitor.headline


@pytest.mark.usefixtures("nothing_left_behind")
@pytest.mark.parametrize("window", [1, 2, 60])
def test_every_window_size_draws_every_chart(window: int, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    monitor = Monitor(window=window, interval=0.05, charts=tuple(CHARTS))
    try:
        wait_for(lambda: monitor.updates >= 3)
        assert monitor.errors == 0 and caplog.records == []
        for name in CHARTS:  # (a machine with GPUs adds one, hidden: not asked for)
            chart = monitor.charts[name]
            y = np.asarray(chart.marks[0].y, dtype=float).reshape(-1, len(chart.marks[0].x))
            assert np.isfinite(y).all(axis=0).sum() >= 2  # drawn, a lone sample included
        assert monitor.state == "live" and monitor.text.feeds[0]["samples"] >= 1
    finally:
        monitor.close()


@pytest.mark.usefixtures("nothing_left_behind")
def test_a_failing_update_is_caught_counted_and_named(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing an update does may reach asyncio's handler: it prints into whatever cell runs."""
    caplog.set_level(logging.DEBUG)

    def broken(self: Chart, *args: Any, **kwargs: Any) -> None:
        raise ValueError("Dimension mismatch for trait y")

    monkeypatch.setattr(Chart, "update", broken)
    monitor = Monitor(interval=0.05)
    try:
        # The count goes up on the loop thread, then the status that shows it is sent.
        wait_for(lambda: monitor.errors >= 3 and monitor.text.feeds[0]["errors"] >= 3)
        [shown] = monitor.text.feeds
        assert shown["errors"] >= 3
        assert "ValueError: Dimension mismatch for trait y" in shown["error"]
        [status] = monitor.feed_status()
        assert status["errors"] >= 3 and status["error"].startswith("ValueError")
        assert monitor.state == "live"  # the feed goes on
        loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert loud == [], [r.getMessage() for r in loud]  # no "Exception in callback"
        logged = [r for r in caplog.records if r.name == monitor_module.__name__]
        assert logged and all(r.levelno == logging.DEBUG and r.exc_info for r in logged)
        monkeypatch.undo()
        updates = monitor.updates
        wait_for(lambda: monitor.updates > updates + 2)  # and draws again once it can
    finally:
        monitor.close()


def test_status_dicts_follow_the_contract() -> None:
    monitor = Monitor(url="ws://127.0.0.1:9/iostat?token=abc", autostart=False, interval=0.5)
    try:
        [status] = monitor.feed_status()
        assert set(status) == set(get_type_hints(FeedStatus))
        assert status == {
            "label": "ws://127.0.0.1:9/iostat?token=***",
            "state": "stopped",
            "samples": 0,
            "invalid": 0,
            "errors": 0,
            "error": "",
            "age": None,
            "interval": 0.5,
        }
    finally:
        monitor.close()


@pytest.mark.usefixtures("nothing_left_behind")
def test_status_dicts_of_a_live_feed_and_after_stop() -> None:
    monitor = Monitor(interval=0.05)
    try:
        wait_for(lambda: len(monitor.window) >= 3)
        [status] = monitor.feed_status()
        assert status["state"] == "live" and status["samples"] >= 3
        assert isinstance(status["age"], float) and 0 <= status["age"] < 5
        assert status["interval"] == 0.05  # the embedded server's
        monitor.stop()
        assert monitor.text.feeds[0]["state"] == "stopped"  # the front end shows no age
    finally:
        monitor.close()


@pytest.mark.usefixtures("nothing_left_behind")
def test_a_silent_server_turns_the_monitor_stale_then_live_again() -> None:
    interval = 0.2  # stale after 3 intervals: 0.6 s
    remote = LoopThread(name="test-remote-server")  # a remote host we can freeze, like SIGSTOP
    server = remote.run(Server("127.0.0.1", 0, interval=interval).start())
    monitor = Monitor(url=server.url)
    try:
        wait_for(lambda: len(monitor.window) >= 3 and monitor.state == "live")
        contacts: list[object] = []  # what the front end counts as the kernel being alive
        monitor.text.observe(lambda c: contacts.append(c["new"]), names=["beat", "feeds"])
        frozen = time.monotonic()
        remote.loop.call_soon_threadsafe(time.sleep, 2.5)  # it neither samples nor sends
        wait_for(lambda: monitor.state == "stale", limit=5)
        took = time.monotonic() - frozen
        assert took < 3 * interval + 0.6, f"stale after {took:.2f} s"
        wait_for(lambda: monitor.text.feeds[0]["state"] == "stale", limit=1)  # shown too
        assert monitor.feed_status()[0]["state"] == "stale"
        seen = len(contacts)
        wait_for(lambda: len(contacts) >= seen + 2, limit=3)  # the kernel still says it is alive
        wait_for(lambda: monitor.state == "live", limit=10)
        wait_for(lambda: monitor.text.feeds[0]["state"] == "live", limit=1)
    finally:
        monitor.close()
        remote.run(server.aclose())
        remote.stop()


@pytest.mark.usefixtures("nothing_left_behind")
def test_rerunning_a_cell_closes_the_monitor_its_last_run_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runs = iter(
        [CellRun("cell-a", "run-1"), CellRun("cell-a", "run-1"), CellRun("cell-a", "run-2")]
    )
    monkeypatch.setattr(monitor_module, "current_cell", lambda: next(runs))
    first, second = Monitor(interval=0.05), Monitor(interval=0.05)  # one run made two
    third = Monitor(interval=0.05)  # the cell ran again
    try:
        assert first.state == second.state == "stopped" and first.comm is None
        assert third.state in ("connecting", "live")
        runtime = KernelRuntime.current()
        assert runtime is not None and runtime.users == 1
    finally:
        third.close()


@pytest.mark.usefixtures("nothing_left_behind")
def test_close_all_closes_every_monitor() -> None:
    monitors = [Monitor(interval=0.05), Monitor(interval=0.05, autostart=False)]
    assert Monitor.close_all() >= 2
    assert all(m.state == "stopped" and m.comm is None for m in monitors)
    assert Monitor.close_all() == 0


@pytest.mark.usefixtures("nothing_left_behind")
def test_status_dicts_are_what_the_monitor_text_takes() -> None:
    monitor_text = pytest.importorskip("iostat_widget.widget.monitor_text")
    monitor = Monitor(urls=["ws://127.0.0.1:9/iostat"], interval=0.05)
    embedded = Monitor(interval=0.05)
    try:
        wait_for(lambda: len(embedded.window) >= 2 and monitor.state == "reconnecting")
        for feed in [*monitor.feed_status(), *embedded.feed_status()]:
            assert monitor_text.check_feed(feed) == feed
    finally:
        monitor.close()
        embedded.close()


@pytest.mark.parametrize(("window", "rows"), [(1, 10), (3, 10), (60, 5)])
def test_table_rows_follow_the_window(window: int, rows: int) -> None:
    monitor = Monitor(window=window, rows=rows, autostart=False)
    try:
        for seq in range(200):
            sample = synthetic_sample(seq, 1_800_000_000.0 + seq)
            sample["date"] = f"2027-01-15T08:00:00.{seq:03d}Z"
            monitor.feeds[0].window.add(sample)
            monitor._changed.add(0)
            monitor._flush()
            shown = re.findall(r'title="([^"]+)"', monitor.table)
            expected = [f"2027-01-15T08:00:00.{s:03d}Z" for s in range(seq, -1, -1)]
            assert shown == expected[: min(window, rows)]
        assert monitor.errors == 0
    finally:
        monitor.close()


@pytest.mark.usefixtures("nothing_left_behind")
def test_the_kernels_own_cost_is_a_line_and_a_headline_figure() -> None:
    ticks = iter(range(1_000_000))

    def reader() -> dict[tuple[int, float], ProcessTimes]:  # half a core, 100 MB, each tick
        n = next(ticks)
        return {(1, 0.0): ProcessTimes(own=0.5 * n, reaped=0.0, rss=100e6, swap=0.0)}

    clock = iter(range(1_000_000))
    meter = CostMeter(reader, clock=lambda: next(clock), cpus=4, memory=1e9)
    monitor = Monitor(interval=0.05, charts=("cpu", "mem"), kernel=meter)
    try:
        wait_for(lambda: len(monitor.window) >= 5 and "this kernel" in monitor.headline)
        cpu = np.asarray(monitor.lines.y, dtype=float)
        mem = np.asarray(monitor.charts["mem"].marks[0].y, dtype=float)
        assert cpu.shape[0] == 3 and mem.shape[0] == 2
        assert cpu[2, -1] == 12.5  # half a core of 4 CPUs
        assert mem[1, -1] == 10.0  # 100 MB of 1 GB
        assert "this kernel" in monitor.headline and "0.50 core" in monitor.headline
        assert "1 core = 25.0 %" in monitor.charts["cpu"].header.value
    finally:
        monitor.close()


@pytest.mark.usefixtures("nothing_left_behind")
def test_a_monitor_without_the_kernels_cost_measures_nothing() -> None:
    monitor = Monitor(interval=0.05, kernel=False)
    try:
        wait_for(lambda: monitor.updates >= 3)
        assert monitor.kernel_meter is None
        assert np.asarray(monitor.lines.y).shape[0] == 2
        assert "this kernel" not in monitor.headline + monitor.charts["cpu"].header.value
    finally:
        monitor.close()
