"""Monitor(urls=[...]): several machines in one view, each server in its own process."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator

import numpy as np
import pytest

from iostat_widget import Monitor
from iostat_widget.widget.runtime import KernelRuntime

from .helpers import our_threads, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def servers() -> Iterator[list[tuple[subprocess.Popen[str], str]]]:
    started = []
    try:
        for _ in range(3):
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "iostat_widget",
                    "serve",
                    "--port",
                    "0",
                    "--interval",
                    "0.1",
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            started.append(process)
        urls = []
        for process in started:
            assert process.stdout is not None
            for line in process.stdout:
                if match := re.search(r"stream:\s+(\S+)", line):
                    urls.append(match.group(1))
                    break
        yield list(zip(started, urls, strict=True))
    finally:
        for process in started:
            process.kill()
            process.wait(10)


def test_three_hosts_in_one_view_and_one_going_away(
    servers: list[tuple[subprocess.Popen[str], str]],
) -> None:
    urls = [url for _, url in servers]
    monitor = Monitor(urls=urls, rows=9, charts=("cpu", "net"))
    try:
        cpu, net = monitor.charts["cpu"], monitor.charts["net"]
        # what is read below is drawn on the loop after the samples arrive: wait for the drawing
        wait_for(
            lambda: (
                all(len(np.asarray(m.y)) >= 5 for m in [*cpu.marks, *net.marks])
                and all(len(feed.window) >= 5 for feed in monitor.feeds)
                and monitor.headline.count("<tr>") == 1 + 3
                and [feed["state"] for feed in monitor.text.feeds] == ["live"] * 3
            )
        )
        assert len(cpu.marks) == 3  # one line per host
        for mark in cpu.marks:
            y = np.asarray(mark.y, dtype=float)
            assert y.ndim == 1 and len(y) >= 5 and np.all((y >= 0) & (y <= 100.5))
        assert all(len(np.asarray(mark.y)) >= 5 for mark in net.marks)
        assert all(len(np.asarray(m.y)) == 0 for m in monitor.charts["disk"].marks)  # hidden
        assert monitor.headline.count("<tr>") == 1 + 3  # the hosts' figures and colours
        assert monitor.table.count("<th>host</th>") == 1
        assert [feed["state"] for feed in monitor.text.feeds] == ["live"] * 3
        assert our_threads() == ["iostat-widget-loop"]

        servers[0][0].kill()  # one host goes away
        wait_for(lambda: monitor.feeds[0].state == "reconnecting")
        counts = [len(feed.window) for feed in monitor.feeds[1:]]
        newest = [feed.window.newest["seq"] for feed in monitor.feeds[1:]]  # type: ignore[index]
        time.sleep(1.0)
        later = [feed.window.newest["seq"] for feed in monitor.feeds[1:]]  # type: ignore[index]
        assert all(b >= a + 5 for a, b in zip(newest, later, strict=True)), (counts, newest, later)
        assert "reconnecting" in [feed["state"] for feed in monitor.text.feeds]
    finally:
        monitor.close()
    assert KernelRuntime.current() is None and our_threads() == []


def test_toggle_shows_a_chart_and_fills_it_at_once() -> None:
    monitor = Monitor(interval=0.05)
    try:
        wait_for(lambda: len(monitor.window) >= 3)
        disk = monitor.charts["disk"]
        assert not disk.visible and np.isnan(np.asarray(disk.marks[0].y, dtype=float)).all()
        assert disk.box not in monitor.chart_area.children  # hidden: not on the page at all
        monitor.toggles["disk"].value = True
        wait_for(lambda: np.isfinite(np.asarray(disk.marks[0].y, dtype=float)).sum() >= 6)
        y = np.asarray(disk.marks[0].y, dtype=float)
        assert y.shape[0] == 2  # read and write
        assert disk.visible
        wait_for(lambda: disk.box in monitor.chart_area.children)
        monitor.toggles["cpu"].value = False
        wait_for(lambda: not monitor.charts["cpu"].visible)
    finally:
        monitor.close()


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="not both"):
        Monitor(url="ws://127.0.0.1:1/iostat", urls=["ws://127.0.0.1:2/iostat"])
    with pytest.raises(ValueError, match="unknown charts"):
        Monitor(charts=("swap",), autostart=False)
    with pytest.raises(ValueError, match="empty"):
        Monitor(urls=[], autostart=False)
    assert KernelRuntime.current() is None
