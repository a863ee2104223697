"""The Monitor widget without a browser: fed by a real server, read through its widget state."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import psutil
import pytest

from iostat_widget import Monitor
from iostat_widget.server import Server
from iostat_widget.sources.synthetic import SyntheticSampler
from iostat_widget.widget.runtime import KernelRuntime

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
        table = monitor.table
        first_table = table.value
        wait_for(lambda: (n := monitor.window.newest) is not None and n["seq"] >= 30)
        assert monitor.state == "live" and monitor.updates >= 2
        x2, y2 = np.asarray(monitor.lines.x), np.asarray(monitor.lines.y)
        assert x2.shape == (20,) and y2.shape == (2, 20)  # fixed window
        assert x2[-1] > x[-1]
        assert np.all(y2[0] >= y2[1])  # us+sy on top of us
        assert np.all((y2 >= 0) & (y2 <= 100.5))
        assert monitor.table is table and table.value != first_table  # same widget, new rows
        assert table.value.count("<tr>") == 1 + 5
        newest = monitor.window.newest
        assert newest is not None and newest["date"] in table.value
        assert "live" in monitor.status.value and "samples" in monitor.status.value
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
        assert "reconnecting" in monitor.status.value
    finally:
        monitor.close()


def test_bad_url_raises_at_once_and_leaks_nothing() -> None:
    with pytest.raises(ValueError, match="WebSocket URL"):
        Monitor(url="http://127.0.0.1:1/")
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
        wait_for(lambda: len(monitor.window) >= 2)
        assert token not in monitor.status.value and "token=***" in monitor.status.value
        assert token not in repr(monitor)


@pytest.mark.usefixtures("nothing_left_behind")
def test_container_scope_is_labelled() -> None:
    sampler = SyntheticSampler(scope="container")
    with remote_monitor(Server("127.0.0.1", 0, interval=0.05, sampler=sampler)) as monitor:
        wait_for(lambda: "container" in monitor.figure.title)
        assert monitor.figure.title.endswith(" · container")
        assert monitor.figure.title.startswith("CPU: us")
