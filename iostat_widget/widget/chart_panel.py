"""The monitor's charts and the buttons that show or hide them, laid out for the page.

:class:`ChartPanel` builds one :class:`~.charts.Chart` per spec of :data:`~.charts.CHARTS` (CPU full
width; the others share rows as the width allows, in a grid), a toggle button each, and the GPU
chart with its button once the first sample carrying GPUs arrives (:meth:`ChartPanel.offer_gpu`).
Hidden charts are not on the page and draw nothing; a chart shown again catches up at once from
the windows. Everything here is touched from the kernel's background loop only, except the
buttons' clicks, which the panel hands to ``on_toggle`` (the monitor moves them to the loop).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any

import ipywidgets as widgets

from .charts import CHARTS, Chart, ChartSpec
from .gpu_chart import GPU_SPEC, GpuChart
from .window import SampleWindow

__all__ = ["ChartPanel", "check_charts"]


def check_charts(charts: Collection[str]) -> frozenset[str]:
    """``charts`` as a set of known chart names.

    Raises:
        ValueError: a name that is none of ``cpu``, ``disk``, ``net``, ``mem``, ``gpu``.
    """
    known = {*CHARTS, GPU_SPEC.name}
    if unknown := set(charts) - known:
        raise ValueError(f"unknown charts {sorted(unknown)}; choose from {sorted(known)}")
    return frozenset(charts)


class ChartPanel:
    """The charts of ``hosts`` (one line per host), those in ``shown`` visible, ``window``
    samples wide at ``interval`` seconds; CPU ``height`` tall (a CSS length), the others three
    quarters of it. ``kernel``: a line for this kernel's cost, ``cpus`` the cores it is a share of.
    ``on_toggle()`` is called (on the front end's thread) when a button is clicked."""

    def __init__(
        self,
        hosts: Sequence[str],
        shown: frozenset[str],
        *,
        height: str,
        window: int,
        interval: float,
        kernel: bool,
        cpus: int,
        on_toggle: Callable[[], None],
    ) -> None:
        self.hosts = list(hosts)
        self.asked = shown  #: the charts to show, the GPU chart once offered
        self.window = window
        self.interval = interval
        self._on_toggle = on_toggle
        self.small_height = f"calc({height} * 0.75)"
        self.charts: dict[str, Chart] = {
            name: Chart(
                spec,
                self.hosts,
                height if name == "cpu" else self.small_height,
                size=window,
                interval=interval,
                time_ticks=5 if name == "cpu" else 4,  # the others may share a row: narrower
                kernel=kernel,
                cpus=cpus,
            )
            for name, spec in CHARTS.items()
        }
        self.toggles: dict[str, Any] = {}
        for name, chart in self.charts.items():
            chart.show(name in shown)
            self.toggles[name] = self._toggle(chart.spec, name in shown)
        self.buttons = widgets.HBox(
            list(self.toggles.values()), layout=widgets.Layout(flex_flow="row wrap")
        )
        self.chart_area = widgets.GridBox(
            layout=widgets.Layout(
                grid_template_columns="repeat(auto-fit, minmax(min(100%, 340px), 1fr))",
                grid_gap="8px 16px",
                margin="4px 0",
            )
        )

    @property
    def has_gpu(self) -> bool:
        """Whether the GPU chart was offered."""
        return GPU_SPEC.name in self.charts

    def update(self, windows: Sequence[SampleWindow], changed: Collection[int]) -> None:
        """Redraw the visible charts from ``windows`` (``changed``: the feeds with new samples)."""
        for chart in self.charts.values():
            if chart.visible:
                chart.update(windows, changed)

    def apply_toggles(self, windows: Sequence[SampleWindow]) -> None:
        """Show or hide each chart as its button says; one shown again catches up from
        ``windows`` at once instead of waiting for the next sample."""
        for name, toggle in self.toggles.items():
            chart = self.charts[name]
            if toggle.value != chart.visible:
                chart.show(toggle.value)
                if toggle.value:
                    chart.update(windows)

    def offer_gpu(self) -> None:
        """Add the GPU chart (shown if asked for) and its button, last."""
        chart = GpuChart(
            self.hosts, self.small_height, size=self.window, interval=self.interval, time_ticks=4
        )
        chart.show(GPU_SPEC.name in self.asked)
        self.charts[GPU_SPEC.name] = chart
        self.toggles[GPU_SPEC.name] = self._toggle(GPU_SPEC, chart.visible)
        self.buttons.children = list(self.toggles.values())

    def arrange(self, text: Any) -> list[Any]:
        """The monitor's children, top to bottom: ``text`` (status, headline; the table shows
        after everything else, see monitor_text), the buttons, CPU at full width, then the other
        shown charts in the grid."""
        cpu = self.charts["cpu"]
        shown = [c.box for c in self.charts.values() if c.visible and c is not cpu]
        if list(self.chart_area.children) != shown:
            self.chart_area.children = shown
        main = [cpu.box] if cpu.visible else []
        return [text, self.buttons, *main, self.chart_area]

    def close(self) -> None:
        """Close every chart and widget of the panel."""
        for chart in self.charts.values():
            chart.close()
        for widget in (*self.toggles.values(), self.buttons, self.chart_area):
            widget.close()

    def _toggle(self, spec: ChartSpec, value: bool) -> Any:
        """The button that shows or hides the chart of ``spec`` (on: ``value``)."""
        toggle = widgets.ToggleButton(
            value=value,
            description=spec.button,
            tooltip=f"show or hide the {spec.title} chart",
            layout=widgets.Layout(width="auto"),
        )
        toggle.observe(lambda _: self._on_toggle(), names="value")
        return toggle
