"""The monitor's charts without a kernel: what each mark, axis and header holds after an update."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pytest

from iostat_widget.sources.synthetic import synthetic_sample
from iostat_widget.widget.charts import (
    CHARTS,
    Chart,
    nice_ticks,
    tick_step,
    time_format,
    time_ticks,
)
from iostat_widget.widget.kernel_cost import attach_cost
from iostat_widget.widget.palette import KERNEL_LINE
from iostat_widget.widget.window import SampleWindow

from .helpers import cost

T0 = 1_800_000_000.0


def windows(hosts: int, samples: int, size: int = 10) -> list[SampleWindow]:
    made = []
    for host in range(hosts):
        window = SampleWindow(size)
        for seq in range(samples):
            window.add(synthetic_sample(seq, T0 + seq, host=f"h{host}"))
        made.append(window)
    return made


def seconds(x: object) -> np.ndarray:
    return (np.asarray(x) - np.datetime64(0, "ms")).astype(float) / 1000.0


def test_one_host_cpu_is_stacked_and_disk_has_two_lines() -> None:
    cpu = Chart(CHARTS["cpu"], ["this machine"], "200px")
    disk = Chart(CHARTS["disk"], ["this machine"], "120px")
    try:
        cpu.update(windows(1, 4))
        disk.update(windows(1, 4))
        y = np.asarray(cpu.marks[0].y, dtype=float)
        assert y.shape == (2, 5) and cpu.marks[0].fill == "bottom"
        assert np.isnan(y[:, 0]).all() and not np.isnan(y[:, 1:]).any()  # [0]: the span
        assert np.all(y[0, 1:] >= y[1, 1:])  # us+sy over us
        assert np.asarray(disk.marks[0].y).shape == (2, 5)
    finally:
        cpu.close()
        disk.close()


def test_several_hosts_update_only_the_marks_that_changed() -> None:
    chart = Chart(CHARTS["cpu"], ["a", "b", "c"], "200px")
    try:
        chart.update(windows(3, 3))
        assert [len(np.asarray(mark.x)) for mark in chart.marks] == [3, 3, 3]
        later = windows(3, 6)
        chart.update(later, changed={1})
        assert [len(np.asarray(mark.x)) for mark in chart.marks] == [3, 6, 3]
        assert np.asarray(chart.marks[1].y).shape == (6,)  # one busy line per host
    finally:
        chart.close()


def gappy(size: int, seqs: list[int]) -> SampleWindow:
    window = SampleWindow(size)
    for seq in seqs:
        window.add(synthetic_sample(seq, T0 + seq))
    return window


SEQUENCES = [[], [0], [0, 1], [0, 1, 2], [0, 2], [0, 2, 4], [0, 1, 3], [0, 2, 3, 5, 7]]


@pytest.mark.parametrize("size", [1, 2, 3, 60])
@pytest.mark.parametrize("name", list(CHARTS))
def test_every_window_size_and_chart_draws(size: int, name: str) -> None:
    """Every shape a window can take reaches bqplot as arrays it accepts and draws as meant."""
    one = Chart(CHARTS[name], ["this machine"], "200px")
    many = Chart(CHARTS[name], ["a", "b"], "200px")
    rows = len(CHARTS[name].rows)
    try:
        for seqs in SEQUENCES:
            window = gappy(size, seqs)
            one.update([window])  # raises TraitError for a shape bqplot refuses
            many.update([window, gappy(size, seqs[:1])])
            x, y = np.asarray(one.marks[0].x), np.asarray(one.marks[0].y, dtype=float)
            assert x.ndim == 1
            if rows == 1:
                assert y.shape == x.shape  # one line: 1-D, never squeezed to a scalar
            else:
                assert y.shape == (rows, len(x))  # one row per line, never squeezed to 1-D
            if window.newest is not None:  # something to see: at least one drawn segment
                assert np.isfinite(y.reshape(-1, len(x))).all(axis=0).sum() >= 2
            for mark in many.marks:
                hx, hy = np.asarray(mark.x), np.asarray(mark.y, dtype=float)
                assert hy.shape == hx.shape
    finally:
        one.close()
        many.close()


def test_a_lone_first_sample_is_drawn_at_once() -> None:
    chart = Chart(CHARTS["mem"], ["this machine"], "200px")
    try:
        chart.update(windows(1, 1, size=60))
        x, y = seconds(chart.marks[0].x), np.asarray(chart.marks[0].y, dtype=float)
        drawn = np.isfinite(y)
        assert drawn.sum() == 2 and x[drawn][1] - x[drawn][0] == pytest.approx(1.0)  # a segment
        assert x[-1] == pytest.approx(T0 + 0.5)  # at the right edge of the axis
    finally:
        chart.close()


def test_time_axis_spans_the_window_at_a_steady_pace() -> None:
    chart = Chart(CHARTS["cpu"], ["this machine"], "200px", size=60)
    try:
        assert len(chart.marks[0].x) == 0 and len(chart.x_axis.tick_values) == 0
        assert chart.x_axis.num_ticks == 0  # not d3's ticks of an empty domain: "00:00:00" x 10
        for count in (2, 10, 60):
            chart.update(windows(1, count, size=60))
            x = seconds(chart.marks[0].x)
            assert x[-1] - x[0] == pytest.approx(59.0)  # always the whole window's width
            assert x[-1] == pytest.approx(T0 + count - 1)  # ending at the newest sample
            ticks = seconds(chart.x_axis.tick_values)
            assert 3 <= len(ticks) <= 6 and x[0] < ticks[0] and ticks[-1] < x[-1]
            assert all(t % 10 == 0 for t in ticks)  # on round times: 10 s apart for a minute
        assert chart.x_axis.tick_format == "%H:%M:%S" and chart.x_axis.num_ticks is None
        narrow = Chart(CHARTS["disk"], ["this machine"], "200px", size=60, time_ticks=4)
        narrow.update(windows(1, 60, size=60))
        assert len(narrow.x_axis.tick_values) <= 4
        narrow.close()
    finally:
        chart.close()


def label(fmt: str) -> Callable[[float], str]:
    """What d3's utcFormat(fmt) writes, for the two formats the charts use."""

    def write(t: float) -> str:
        text = time.strftime(fmt.replace(".%L", ""), time.gmtime(t))
        return text + (f".{round(t % 1 * 1000):03d}" if "%L" in fmt else "")

    return write


def test_time_ticks_are_round_few_and_never_repeat_a_label() -> None:
    for span in (0.25, 1.0, 2.95, 4.0, 9.0, 59.0, 119.0, 600.0, 3599.0, 86_400.0):
        for start in (T0, T0 + 0.37, T0 + 7.3):
            ticks = time_ticks(start, start + span)
            assert 2 <= len(ticks) <= 6, (span, ticks)
            assert start < ticks[0] and ticks[-1] < start + span
            step = round((ticks[1] - ticks[0]) * 1000)  # ms
            assert all(round(t * 1000) % step == 0 for t in ticks)
            assert len(set(map(label(time_format(ticks)), ticks))) == len(ticks)
    assert time_ticks(T0, T0) == []
    assert time_format(time_ticks(T0, T0 + 59)) == "%H:%M:%S"
    assert time_format(time_ticks(T0, T0 + 2.95)) == "%M:%S.%L"


def test_several_hosts_share_a_frame_that_scrolls_past_a_stopped_host() -> None:
    chart = Chart(CHARTS["net"], ["a", "b"], "200px", size=10)
    try:
        stopped, going = windows(2, 3, size=10)
        chart.update([stopped, going])
        for seq in range(3, 40):
            going.add(synthetic_sample(seq, T0 + seq))
        chart.update([stopped, going], changed={1})
        assert chart.frame is not None
        frame = seconds(chart.frame.x)
        assert frame[1] - frame[0] == pytest.approx(9.0)  # the window
        assert T0 + 39 < frame[1] <= T0 + 40  # past the newest sample by at most an interval
        assert np.asarray(chart.frame.y, dtype=float).tolist() == [0.0, 0.0]  # no NaN-only line
        assert chart.frame.colors == ["transparent"]  # draws nothing
        assert all(mark.preserve_domain == {"x": True} for mark in chart.marks)
    finally:
        chart.close()


def test_many_hosts_ticking_apart_move_the_frame_about_twice_an_interval() -> None:
    hosts = 20
    chart = Chart(CHARTS["cpu"], [f"h{n}" for n in range(hosts)], "200px", size=60)
    try:
        assert chart.frame is not None
        sent: list[object] = []
        chart.frame.observe(lambda change: sent.append(change["new"]), names="x")
        made = [SampleWindow(60) for _ in range(hosts)]
        for seq in range(10):  # ten intervals, each host ticking at its own phase
            for number, window in enumerate(made):
                window.add(synthetic_sample(seq, T0 + seq + number / hosts, host=f"h{number}"))
                chart.update(made, changed={number})
        assert len(sent) <= 2 * 10 + 1, len(sent)  # not one per host per interval (200)
        newest = T0 + 9 + (hosts - 1) / hosts
        frame = seconds(chart.frame.x)
        assert newest <= frame[1] <= newest + 1.0  # every host's newest point is on the chart
    finally:
        chart.close()


def test_rate_axes_end_at_a_round_number_with_few_si_ticks() -> None:
    assert nice_ticks(0.0) == [0.0, 200.0, 400.0, 600.0, 800.0, 1000.0]
    assert nice_ticks(600.0) == nice_ticks(999.0) == nice_ticks(0.0)  # the floor: 1 kB/s
    assert nice_ticks(9e6) == [0.0, 2e6, 4e6, 6e6, 8e6, 1e7]
    assert nice_ticks(610e3) == [0.0, 200e3, 400e3, 600e3, 800e3]
    for peak in np.geomspace(1, 1e12, 400):
        ticks = nice_ticks(float(peak))
        assert 3 <= len(ticks) <= 6 and ticks[-1] >= peak and ticks[0] == 0
    chart = Chart(CHARTS["disk"], ["this machine"], "200px")
    try:
        window = SampleWindow(10)
        for seq in range(5):
            sample = synthetic_sample(seq, T0 + seq)
            sample["disk"]["read_bps"] = 9e6 if seq == 2 else 1e3
            window.add(sample)
        chart.update([window])
        assert chart.y_scale.max == 1e7
        assert list(chart.y_axis.tick_values) == [0.0, 2e6, 4e6, 6e6, 8e6, 1e7]
        assert chart.y_axis.tick_format == "~s"  # d3's SI: 2M, 2.5M, 200k
        assert CHARTS["disk"].unit in chart.header.value  # the unit above, not over the ticks
        assert chart.y_axis.label in ("", None)
    finally:
        chart.close()


def test_percent_axes() -> None:
    chart = Chart(CHARTS["mem"], ["this machine"], "200px")
    try:
        assert (chart.y_scale.min, chart.y_scale.max) == (0.0, 100.0)
        assert list(chart.y_axis.tick_values) == [0, 25, 50, 75, 100]
    finally:
        chart.close()


@pytest.mark.parametrize("name", list(CHARTS))
def test_legends_cover_nothing(name: str) -> None:
    one = Chart(CHARTS[name], ["this machine"], "200px")
    many = Chart(CHARTS[name], ["a", "b"], "200px")
    try:
        for chart in (one, many):
            assert not any(mark.display_legend for mark in chart.figure.marks)
            assert chart.figure.title in ("", None)
            layout = chart.figure.layout
            assert layout.width != "100%" and layout.margin == "0"  # 100% + margin overflows
        for label, _ in CHARTS[name].rows:  # the header names each line in its colour
            assert label in one.header.value
        one.set_scope("container")
        assert "container" in one.header.value
    finally:
        one.close()
        many.close()


def test_a_span_wandering_around_a_step_boundary_keeps_its_step() -> None:
    # window=1 at 0.5 s: the axis spans 4 measured intervals, 1.99 to 2.01 s, and a chart allows
    # 4 time ticks: 2.0 / 0.5 is right on the boundary between a 0.5 s and a 1 s step.
    step = None
    chosen = set()
    for span in (2.0, 2.01, 1.99, 2.02, 1.98, 2.0):
        step = tick_step(span, 4, step)
        chosen.add(step)
    assert len(chosen) == 1
    assert tick_step(2.01, 4) == 1 and tick_step(2.0, 4) == 0.5  # the boundary is real
    assert tick_step(60.0, 4, keep=0.5) == 15  # far from the step in use: chosen afresh
    assert time_format(time_ticks(T0, T0 + 2.01, 4, step=0.5)) == "%M:%S.%L"


def with_kernel(window: SampleWindow, cpu_pct: float, mem_pct: float) -> SampleWindow:
    """``window`` with this kernel's cost on its newest sample only (older ones have none)."""
    newest = window.newest
    assert newest is not None
    attach_cost(newest, cost(cpu_pct=cpu_pct, mem_pct=mem_pct))
    return window


def test_one_host_charts_draw_the_kernels_line_over_the_machines() -> None:
    cpu = Chart(CHARTS["cpu"], ["this machine"], "200px", kernel=True, cpus=8)
    mem = Chart(CHARTS["mem"], ["this machine"], "120px", kernel=True, cpus=8)
    try:
        [window] = windows(1, 4)
        with_kernel(window, cpu_pct=12.5, mem_pct=3.0)
        cpu.update([window])
        mem.update([window])
        y = np.asarray(cpu.marks[0].y, dtype=float)
        assert y.shape == (3, 5)  # us+sy, us, and this kernel
        assert y[2, -1] == 12.5 and np.isnan(y[2, :-1]).all()  # no figure: nothing drawn
        assert list(cpu.marks[0].fill_opacities) == [1.0, 1.0, 0.0]  # a line, not an area
        assert cpu.marks[0].colors[2] == mem.marks[0].colors[1] == KERNEL_LINE
        assert "this kernel (1 core = 12.5 %)" in cpu.header.value  # the machine's scale
        m = np.asarray(mem.marks[0].y, dtype=float)
        assert m.shape == (2, 5) and m[1, -1] == 3.0
        assert "this kernel" in mem.header.value
    finally:
        cpu.close()
        mem.close()


def test_no_kernel_line_unless_asked_or_with_several_hosts() -> None:
    plain = Chart(CHARTS["cpu"], ["this machine"], "200px")
    many = Chart(CHARTS["cpu"], ["a", "b"], "200px", kernel=True, cpus=8)
    try:
        plain.update(windows(1, 3))
        many.update(windows(2, 3))
        assert np.asarray(plain.marks[0].y).shape == (2, 4)
        assert "this kernel" not in plain.header.value + many.header.value
        assert len(many.marks) == 2
    finally:
        plain.close()
        many.close()
