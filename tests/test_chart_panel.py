"""The monitor's charts and their buttons: which are shown, where, and catching up when shown."""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import pytest

from iostat_widget.sources.synthetic import synthetic_sample
from iostat_widget.widget.chart_panel import ChartPanel, check_charts
from iostat_widget.widget.window import SampleWindow


def panel(shown: set[str], clicks: list[int] | None = None) -> ChartPanel:
    return ChartPanel(
        ["this machine"],
        frozenset(shown),
        height="200px",
        window=20,
        interval=1.0,
        kernel=False,
        cpus=2,
        on_toggle=lambda: (clicks if clicks is not None else []).append(1),
    )


def window_of(count: int) -> SampleWindow:
    window = SampleWindow(20)
    for seq in range(count):
        window.add(synthetic_sample(seq, 1_700_000_000.0 + seq))
    return window


def test_cpu_has_the_full_width_and_the_others_share_the_grid() -> None:
    charts = panel({"cpu", "net"})
    text = widgets.HTML()
    try:
        children = charts.arrange(text)
        assert children == [text, charts.buttons, charts.charts["cpu"].box, charts.chart_area]
        assert list(charts.chart_area.children) == [charts.charts["net"].box]
        assert [t.value for t in charts.toggles.values()] == [True, False, True, False]
        assert not charts.has_gpu
    finally:
        charts.close()


def test_a_click_is_handed_on_and_a_chart_shown_catches_up_at_once() -> None:
    clicks: list[int] = []
    charts = panel({"cpu"}, clicks)
    try:
        disk = charts.charts["disk"]
        charts.toggles["disk"].value = True
        assert clicks == [1] and not disk.visible  # shown on the loop, by apply_toggles
        charts.apply_toggles([window_of(6)])
        assert disk.visible
        assert np.isfinite(np.asarray(disk.marks[0].y, dtype=float)).sum() >= 6
        charts.toggles["cpu"].value = False
        charts.apply_toggles([window_of(6)])
        assert charts.arrange(widgets.HTML())[2:] == [charts.chart_area]  # no CPU chart
    finally:
        charts.close()


def test_the_gpu_chart_comes_last_with_its_button() -> None:
    charts = panel({"cpu", "gpu"})
    try:
        charts.offer_gpu()
        assert charts.has_gpu and list(charts.toggles)[-1] == "gpu"
        assert charts.charts["gpu"].visible  # asked for before any GPU was seen
        assert list(charts.buttons.children)[-1] is charts.toggles["gpu"]
    finally:
        charts.close()


def test_unknown_chart_names_are_refused() -> None:
    assert check_charts(["cpu", "gpu"]) == {"cpu", "gpu"}
    with pytest.raises(ValueError, match=r"unknown charts \['swap'\]"):
        check_charts(["cpu", "swap"])
