"""The monitor's bqplot charts: what each one plots, built once, updated with numpy arrays.

One host: CPU as iostat's stacked us/sy areas, and two-line charts for disk and network.
Several hosts: one line per host in every chart (busy %, disk and network bytes/s, memory %).
A hidden chart is left out of the page (a figure in a hidden element would draw at zero size)
and is not updated, so it costs no comm messages.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

import bqplot
import ipywidgets as widgets

from ..schema import Sample
from .window import SampleWindow, busy_percent

__all__ = ["CHARTS", "Chart", "ChartSpec"]

Getter = Callable[[Sample], float]

# Opaque fills: the us area is drawn over the us+sy area, so translucency would mix the colours.
_SYSTEM_LINE, _SYSTEM_FILL = "#d95f02", "#fdb77a"
_USER_LINE, _USER_FILL = "#1f77b4", "#9ecae1"
_PALETTE = ["#1f77b4", "#d95f02", "#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#666"]


@dataclass(frozen=True)
class ChartSpec:
    """What one chart shows, for a single host (several rows) and for many (one row per host)."""

    name: str
    button: str
    title: str
    unit: str
    rows: tuple[tuple[str, Getter], ...]  # single host: (label, value) per line
    per_host: Getter  # several hosts: one value per host
    percent: bool = False


CHARTS: dict[str, ChartSpec] = {
    spec.name: spec
    for spec in (
        ChartSpec(
            "cpu",
            "CPU",
            "CPU: us (user, blue) + sy (system, orange)",
            "% CPU",
            (("sy (system)", busy_percent), ("us (user)", lambda s: s["cpu"]["us"])),
            busy_percent,
            percent=True,
        ),
        ChartSpec(
            "disk",
            "Disk",
            "Disk",
            "bytes/s",
            (
                ("read", lambda s: s["disk"]["read_bps"]),
                ("write", lambda s: s["disk"]["write_bps"]),
            ),
            lambda s: s["disk"]["read_bps"] + s["disk"]["write_bps"],
        ),
        ChartSpec(
            "net",
            "Network",
            "Network",
            "bytes/s",
            (("rx", lambda s: s["net"]["rx_bps"]), ("tx", lambda s: s["net"]["tx_bps"])),
            lambda s: s["net"]["rx_bps"] + s["net"]["tx_bps"],
        ),
        ChartSpec(
            "mem",
            "Memory",
            "Memory",
            "% used",
            (("used", lambda s: s["mem"]["used_pct"]),),
            lambda s: s["mem"]["used_pct"],
            percent=True,
        ),
    )
}


class Chart:
    """A bqplot figure for one :class:`ChartSpec` over one or several hosts' windows."""

    def __init__(self, spec: ChartSpec, hosts: Sequence[str], height: str) -> None:
        self.spec = spec
        self.hosts = list(hosts)
        self.visible = True  #: hidden charts are neither on the page nor updated
        x_scale = bqplot.DateScale()
        y_scale = (
            bqplot.LinearScale(min=0.0, max=100.0) if spec.percent else bqplot.LinearScale(min=0.0)
        )
        scales = {"x": x_scale, "y": y_scale}
        self.marks: list[bqplot.Lines] = []
        stacked = spec.name == "cpu" and len(self.hosts) == 1
        if stacked:
            self.marks.append(
                bqplot.Lines(
                    x=[],
                    y=[[], []],
                    scales=scales,
                    colors=[_SYSTEM_LINE, _USER_LINE],
                    fill="bottom",
                    fill_colors=[_SYSTEM_FILL, _USER_FILL],
                    fill_opacities=[1.0, 1.0],
                    labels=[label for label, _ in spec.rows],
                    display_legend=False,  # the title names the colours; a legend hid the data
                    stroke_width=1.5,
                )
            )
        elif len(self.hosts) == 1:
            self.marks.append(
                bqplot.Lines(
                    x=[],
                    y=[[] for _ in spec.rows],
                    scales=scales,
                    colors=_PALETTE[: len(spec.rows)],
                    labels=[label for label, _ in spec.rows],
                    display_legend=len(spec.rows) > 1,
                    stroke_width=1.5,
                )
            )
        else:
            for number, host in enumerate(self.hosts):
                self.marks.append(
                    bqplot.Lines(
                        x=[],
                        y=[],
                        scales=scales,
                        colors=[_PALETTE[number % len(_PALETTE)]],
                        labels=[host],
                        display_legend=True,
                        stroke_width=1.5,
                    )
                )
        axes = [
            bqplot.Axis(scale=x_scale, tick_format="%H:%M:%S", num_ticks=6),
            bqplot.Axis(
                scale=y_scale,
                side="left",
                label=spec.unit,
                tick_format=".0f" if spec.percent else ".2s",
            ),
        ]
        title = spec.title if len(self.hosts) == 1 or spec.name != "cpu" else "CPU busy (us+sy)"
        self.figure = bqplot.Figure(
            marks=self.marks,
            axes=axes,
            title=title,
            legend_location="top-left",
            animation_duration=0,
            fig_margin={"top": 40, "bottom": 30, "left": 60, "right": 40},
            layout=widgets.Layout(width="100%", height=height),
        )

    def show(self, visible: bool) -> None:
        """Mark the chart shown or hidden (the monitor puts only shown ones on the page)."""
        self.visible = visible

    def update(
        self, windows: Sequence[SampleWindow], changed: Collection[int] | None = None
    ) -> None:
        """Push the windows' current arrays, one comm message per mark; with several hosts, only
        the marks of the hosts in ``changed`` (all when ``None``): hosts tick at their own times,
        and fifty hosts must not cost fifty messages per sample."""
        if len(windows) == 1:
            x, y = windows[0].columns(*(getter for _, getter in self.spec.rows))
            with self.marks[0].hold_sync():
                self.marks[0].x, self.marks[0].y = x, y
            return
        for number, (mark, window) in enumerate(zip(self.marks, windows, strict=True)):
            if changed is not None and number not in changed:
                continue
            x, y = window.columns(self.spec.per_host)
            with mark.hold_sync():
                mark.x, mark.y = x, y[0]

    def close(self) -> None:
        """Close the figure and everything in it."""
        scales = {scale for mark in self.marks for scale in mark.scales.values()}
        for widget in (*self.marks, *self.figure.axes, *scales, self.figure):
            widget.close()
