"""``Monitor(top=N)``: the busiest processes under the charts, asked for only by such monitors."""

from __future__ import annotations

import os
import re

import pytest

from iostat_widget import Monitor
from iostat_widget.server import Server
from iostat_widget.sources.synthetic import SyntheticSampler
from iostat_widget.sources.top_processes import ProcSnapshot, TopSampler
from iostat_widget.widget.runtime import KernelRuntime

from .helpers import serving_in_thread, wait_for
from .test_monitor import nothing_left_behind  # noqa: F401  (a fixture)


def top_rows_shown(table: str) -> list[str]:
    part = table.split('class="iostat-table iostat-top-table"', 1)
    return re.findall(r"<tr><td>(\d+)</td>", part[1].split("</table>")[0]) if len(part) > 1 else []


@pytest.mark.usefixtures("nothing_left_behind")
def test_an_embedded_monitor_shows_the_busiest_processes_in_place() -> None:
    plain = Monitor(interval=0.05)
    monitor = Monitor(interval=0.05, top=5)
    try:
        wait_for(lambda: len(top_rows_shown(monitor.table)) == 5)
        runtime = KernelRuntime.current()
        assert runtime is not None and runtime.server is not None
        assert runtime.server.hub.top_size == 5  # asked by this monitor alone
        text, first = monitor.text, monitor.table
        assert "busiest processes" in first and "CPU % of one core" in first
        seq = monitor.window.newest["seq"]  # type: ignore[index]
        wait_for(lambda: (n := monitor.window.newest) is not None and n["seq"] >= seq + 3)
        assert monitor.text is text and monitor.errors == 0  # the same widget, updated
        assert monitor.table.index("busiest processes") < monitor.table.index("time (UTC)")
        assert "busiest" not in plain.table and "top" not in (plain.window.newest or {})
        assert "top=5" in monitor.stream.url and "top" not in plain.stream.url  # type: ignore[union-attr]
    finally:
        monitor.close()
        plain.close()


class Hostile:
    def __call__(self) -> dict[tuple[int, float], ProcSnapshot]:
        self.calls = getattr(self, "calls", 0) + 1
        name = "<img src=x onerror=alert(1)>"
        return {(9, 0.0): ProcSnapshot(9, 0.0, name, "eve", self.calls * 0.5, 2e6)}


@pytest.mark.usefixtures("nothing_left_behind")
def test_a_remote_monitor_shows_hostile_names_as_text() -> None:
    server = Server(
        "127.0.0.1",
        0,
        interval=0.05,
        sampler=SyntheticSampler(interval=0.05),
        top=TopSampler(Hostile()),
    )
    with serving_in_thread(server) as running:
        monitor = Monitor(url=running.url, top=3, kernel=False)
        try:
            wait_for(lambda: top_rows_shown(monitor.table) == ["9"])
            assert "&lt;img src=x onerror=alert(1)&gt;" in monitor.table
            assert "<img" not in monitor.table and str(os.getpid()) not in top_rows_shown(
                monitor.table
            )
        finally:
            monitor.close()


def test_top_is_checked_at_once() -> None:
    with pytest.raises(ValueError, match="0 to 25"):
        Monitor(top=26, autostart=False)
