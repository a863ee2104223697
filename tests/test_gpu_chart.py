"""The monitor's GPU chart: per-device arrays from fixed samples, then the chart's marks without a
kernel (lines, colours, legend, messages per update)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from iostat_widget.schema import GpuFigures, Sample
from iostat_widget.sources.synthetic import synthetic_sample
from iostat_widget.widget.gpu_chart import (
    GPU_SPEC,
    GpuChart,
    GpuLine,
    gpu_columns,
    gpu_lines,
)
from iostat_widget.widget.palette import HOSTS
from iostat_widget.widget.window import SampleWindow

T0 = 1_800_000_000.0
UTIL, MEM = "util_pct", "mem_used_pct"


def gpu(index: int, util: float | None = None, mem: float | None = None) -> GpuFigures:
    figures = GpuFigures(index=index)
    if util is not None:
        figures["util_pct"] = util
    if mem is not None:
        figures["mem_used_pct"] = mem
    return figures


def sample(seq: int, gpus: Sequence[GpuFigures] | None, host: str = "synthetic") -> Sample:
    made = synthetic_sample(seq, T0 + seq, host=host)
    if gpus is not None:
        made["gpu"] = list(gpus)
    return made


def window(*ticks: tuple[int, Sequence[GpuFigures] | None], size: int = 10) -> SampleWindow:
    made = SampleWindow(size)
    for seq, gpus in ticks:
        made.add(sample(seq, gpus))
    return made


def rows(y: Any) -> list[list[float | None]]:
    """``y`` with NaN as None, to compare with ``==``."""
    return [[None if np.isnan(v) else float(v) for v in row] for row in np.asarray(y)]


# -- the pure part: lines and arrays -------------------------------------------------------------
def test_each_device_draws_utilization_and_memory_sorted_by_index() -> None:
    shown = window((0, [gpu(1, 10, 20), gpu(0, 30, 40)]), (1, [gpu(0, 31, 41), gpu(1, 11, 21)]))
    lines = gpu_lines(shown)
    assert lines == [GpuLine(0, UTIL), GpuLine(0, MEM), GpuLine(1, UTIL), GpuLine(1, MEM)]
    x, y = gpu_columns(shown, lines)
    assert x.dtype == np.dtype("datetime64[ms]") and x.shape == (2,)
    assert rows(y) == [[30, 31], [40, 41], [10, 11], [20, 21]]


def test_a_device_appearing_draws_from_its_first_sample() -> None:
    shown = window((0, None), (1, [gpu(0, 50, 5)]), (2, [gpu(0, 60, 6), gpu(3, 70, 7)]))
    lines = gpu_lines(shown)
    assert lines == [GpuLine(0, UTIL), GpuLine(0, MEM), GpuLine(3, UTIL), GpuLine(3, MEM)]
    _, y = gpu_columns(shown, lines)
    assert rows(y) == [[None, 50, 60], [None, 5, 6], [None, None, 70], [None, None, 7]]


def test_a_device_missing_for_a_tick_leaves_a_gap_in_its_lines_only() -> None:
    shown = window(
        (0, [gpu(0, 10, 1), gpu(1, 20, 2)]),
        (1, [gpu(0, 11, 1)]),  # GPU 1 failed a reading
        (2, [gpu(0, 12, 1), gpu(1, 22, 2)]),
    )
    _, y = gpu_columns(shown, gpu_lines(shown))
    assert rows(y) == [[10, 11, 12], [1, 1, 1], [20, None, 22], [2, None, 2]]


def test_a_mig_device_without_utilization_draws_no_utilization_line() -> None:
    shown = window((0, [gpu(0, 40, 50), gpu(1, None, 25)]), (1, [gpu(0, 41, 50), gpu(1, None, 26)]))
    lines = gpu_lines(shown)
    assert lines == [GpuLine(0, UTIL), GpuLine(0, MEM), GpuLine(1, MEM)]
    _, y = gpu_columns(shown, lines)
    assert rows(y) == [[40, 41], [50, 50], [25, 26]]


def test_missing_samples_break_every_device_line() -> None:
    shown = window((0, [gpu(0, 10, 1)]), (1, [gpu(0, 11, 2)]), (5, [gpu(0, 15, 5)]))
    x, y = gpu_columns(shown, gpu_lines(shown))
    assert x.shape == (4,)  # a NaN point between seq 1 and seq 5
    assert rows(y) == [[10, 11, None, 15], [1, 2, None, 5]]


def test_no_gpu_in_the_window_is_no_line_and_devices_scroll_away() -> None:
    assert gpu_lines(window((0, None), (1, None))) == []
    assert gpu_lines(window()) == []
    x, y = gpu_columns(window((0, None), (1, None)), [])
    assert x.shape == (2,) and y.shape == (0, 2)
    sliding = window((0, [gpu(2, 5, 5)]), (1, [gpu(0, 1, 1)]), (2, [gpu(0, 2, 2)]), size=2)
    assert gpu_lines(sliding) == [GpuLine(0, UTIL), GpuLine(0, MEM)]  # GPU 2 fell out


# -- the chart ------------------------------------------------------------------------------------
def count_messages(widget: Any) -> list[object]:
    """Every state message ``widget`` sends from now on (one per ``hold_sync``)."""
    sent: list[object] = []
    send = widget.send_state

    def counting(key: object = None) -> None:
        sent.append(key)
        send(key)

    widget.send_state = counting
    return sent


def test_one_host_one_line_per_device_and_figure_in_the_devices_colours() -> None:
    chart = GpuChart(["this machine"], "200px")
    try:
        shown = window((0, [gpu(0, 10, 20), gpu(1, 30, 40)]), (1, [gpu(0, 11, 21), gpu(1, 31, 41)]))
        chart.update([shown])
        [mark] = chart.marks
        y = np.asarray(mark.y, dtype=float)
        assert y.shape == (4, 3) and np.isnan(y[:, 0]).all()  # [0]: the span's start
        assert rows(y[:, 1:]) == [[10, 11], [20, 21], [30, 31], [40, 41]]
        assert list(mark.colors) == [HOSTS[0], HOSTS[0], HOSTS[1], HOSTS[1]]
        assert list(mark.labels) == [
            "GPU 0 utilization",
            "GPU 0 memory used",
            "GPU 1 utilization",
            "GPU 1 memory used",
        ]
        assert mark.fill == "bottom"
        util_fill, mem_fill = mark.fill_opacities[0], mark.fill_opacities[1]
        assert util_fill == 0 and mem_fill > 0  # memory is shaded, utilization a line
        assert "GPU 0" in chart.header.value and "GPU 1" in chart.header.value
        assert (chart.y_scale.min, chart.y_scale.max) == (0.0, 100.0)
        assert not mark.display_legend
    finally:
        chart.close()


def test_a_new_device_gets_a_new_colour_and_the_others_keep_theirs() -> None:
    chart = GpuChart(["this machine"], "200px")
    try:
        shown = window((0, [gpu(1, 10, 20)]))
        chart.update([shown])
        assert list(chart.marks[0].colors) == [HOSTS[0], HOSTS[0]]
        shown.add(sample(1, [gpu(0, 5, 6), gpu(1, 11, 21)]))
        chart.update([shown])
        mark = chart.marks[0]
        assert list(mark.colors) == [HOSTS[1], HOSTS[1], HOSTS[0], HOSTS[0]]  # GPU 0 came second
        assert np.asarray(mark.y).shape == (4, 3)
        assert "GPU 0" in chart.header.value
    finally:
        chart.close()


def test_an_update_is_one_message_for_the_mark_while_the_devices_stay() -> None:
    chart = GpuChart(["this machine"], "200px")
    try:
        shown = window((0, [gpu(0, 10, 20), gpu(1, 30, 40)]))
        chart.update([shown])
        sent = count_messages(chart.marks[0])
        for seq in range(1, 6):
            shown.add(sample(seq, [gpu(0, 10, 20), gpu(1, 30, 40)]))
            chart.update([shown])
        assert len(sent) == 5
    finally:
        chart.close()


def test_a_mig_device_has_only_its_memory_line() -> None:
    chart = GpuChart(["this machine"], "200px")
    try:
        chart.update([window((0, [gpu(0, None, 25)]), (1, [gpu(0, None, 26)]))])
        mark = chart.marks[0]
        assert list(mark.labels) == ["GPU 0 memory used"]
        y = np.asarray(mark.y, dtype=float)
        assert y.ndim == 1 and rows([y[1:]]) == [[25, 26]]
    finally:
        chart.close()


def test_several_hosts_label_lines_host_gpu_n_and_update_only_the_hosts_that_ticked() -> None:
    chart = GpuChart(["ws://a:1/iostat", "ws://b:1/iostat"], "200px")
    try:
        a, b = SampleWindow(10), SampleWindow(10)
        for seq in range(3):
            a.add(sample(seq, [gpu(0, 10, 20), gpu(1, 30, 40)], host="db-1"))
            b.add(sample(seq, [gpu(0, 50, 60)], host="db-2"))
        chart.update([a, b])
        first, second = chart.marks
        assert list(first.labels) == [
            "db-1 GPU 0 utilization",
            "db-1 GPU 0 memory used",
            "db-1 GPU 1 utilization",
            "db-1 GPU 1 memory used",
        ]
        assert list(second.labels) == ["db-2 GPU 0 utilization", "db-2 GPU 0 memory used"]
        assert np.asarray(first.y).shape == (4, 3) and np.asarray(second.y).shape == (2, 3)
        colours = {*first.colors, *second.colors}
        assert len(colours) == 3  # one per device, whichever host it is on
        assert "db-1 GPU 1" in chart.header.value and "db-2 GPU 0" in chart.header.value
        sent = count_messages(first)
        b.add(sample(3, [gpu(0, 51, 61)], host="db-2"))
        chart.update([a, b], changed={1})
        assert sent == [] and np.asarray(second.y).shape == (2, 4)
    finally:
        chart.close()


def test_the_spec_names_the_chart_gpu() -> None:
    assert (GPU_SPEC.name, GPU_SPEC.button, GPU_SPEC.percent) == ("gpu", "GPU", True)
