"""Small bqplot charts for the course notebooks: bars, latency distributions, point clouds.

The notebooks show every measurement as a number and as a picture; keeping the chart plumbing
here keeps each notebook cell about the measurement itself. Each function returns a
``bqplot.Figure`` (an ipywidget), so a chart displays the same way in JupyterLab and on Binder.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import bqplot
import ipywidgets as widgets
import numpy as np

__all__ = ["Y_LABEL_OFFSET", "bar_chart", "cdf_chart", "points_chart"]

_PALETTE = ("#1f77b4", "#e4572e", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")
_MARGIN = {"top": 50, "bottom": 60, "left": 80, "right": 20}
#: Where a left axis's label sits, from the axis line: past tick labels as wide as "10,000" and
#: inside the left margin. bqplot's default (4ex) puts it over tick labels of four digits or more.
Y_LABEL_OFFSET = "62px"
_HEIGHT_PX = 320
_CDF_HEIGHT_PX = 400  # a distribution chart keeps a band above 100 % for its legend
_LEGEND_ROW_PX = 16  # one legend entry, and the legend box's padding


def _y_axis(scale: Any, label: str, **options: Any) -> Any:
    """A left axis whose label clears its tick labels."""
    return bqplot.Axis(
        scale=scale, side="left", label=label, label_offset=Y_LABEL_OFFSET, **options
    )


def _figure(
    marks: list[Any],
    axes: list[Any],
    title: str,
    legend: str = "top-right",
    height_px: int = _HEIGHT_PX,
) -> Any:
    return bqplot.Figure(
        marks=marks,
        axes=axes,
        title=title,
        animation_duration=0,
        fig_margin=_MARGIN,
        legend_location=legend,
        layout=widgets.Layout(width="100%", height=f"{height_px}px"),
    )


def bar_chart(
    values: Mapping[str, float],
    *,
    title: str,
    y_label: str,
    log: bool = False,
    fmt: str = ".1f",
) -> Any:
    """One bar per entry, labelled with its value; ``log`` for values spanning decades.

    On a log scale the bars rise from the power of ten just below the smallest positive value.
    """
    base = 0.0
    if log:
        positive = [float(v) for v in values.values() if v > 0]
        base = 10.0 ** math.floor(math.log10(min(positive))) if positive else 1.0
    y_scale = bqplot.LogScale(min=base) if log else bqplot.LinearScale(min=0.0)
    x_scale = bqplot.OrdinalScale()
    positions = list(range(len(values)))
    palette = [_PALETTE[i % len(_PALETTE)] for i in positions]
    bars = bqplot.Bars(
        x=list(values),
        y=[float(v) for v in values.values()],
        color=positions,  # one colour per bar, through an ordinal colour scale
        scales={
            "x": x_scale,
            "y": y_scale,
            "color": bqplot.OrdinalColorScale(colors=palette, domain=positions),
        },
        label_display=True,
        label_display_format=fmt,
        base=base,
    )
    axes = [
        bqplot.Axis(scale=x_scale),
        _y_axis(y_scale, y_label, tick_format=".3~s"),
    ]
    return _figure([bars], axes, title)


def cdf_chart(
    series: Mapping[str, Sequence[float]], *, title: str, x_label: str = "latency (ms)"
) -> Any:
    """Cumulative distributions: for each x, the share of values at or below it (in %).

    The curves can lie anywhere across the chart, so no corner is sure to be free for the legend;
    the y axis reaches past 100 % instead (ticks stop at 100), and the legend sits in that band,
    which no curve enters.
    """
    plot_px = _CDF_HEIGHT_PX - _MARGIN["top"] - _MARGIN["bottom"]
    legend_px = _LEGEND_ROW_PX * (len(series) + 1)
    x_scale = bqplot.LinearScale(min=0.0)
    y_scale = bqplot.LinearScale(min=0.0, max=100.0 * plot_px / (plot_px - legend_px))
    marks = []
    for i, (label, values) in enumerate(series.items()):
        ordered = np.sort(np.asarray(values, dtype=float))
        if not len(ordered):
            continue
        marks.append(
            bqplot.Lines(
                x=ordered,
                y=100.0 * np.arange(1, len(ordered) + 1) / len(ordered),
                scales={"x": x_scale, "y": y_scale},
                colors=[_PALETTE[i % len(_PALETTE)]],
                labels=[label],
                display_legend=True,
                interpolation="step-after",
                stroke_width=2,
            )
        )
    axes = [
        bqplot.Axis(scale=x_scale, label=x_label),
        _y_axis(y_scale, "% at or below", tick_values=np.arange(0.0, 101.0, 20.0)),
    ]
    return _figure(marks, axes, title, legend="top-right", height_px=_CDF_HEIGHT_PX)


def points_chart(
    series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    *,
    title: str,
    x_label: str,
    y_label: str,
) -> Any:
    """One point cloud per entry: ``{"label": (xs, ys)}`` on shared axes.

    The y axis reaches a third above the highest point, leaving room for the legend.
    """
    highest = max((float(max(ys)) for _, ys in series.values() if len(ys)), default=1.0)
    x_scale = bqplot.LinearScale()
    y_scale = bqplot.LinearScale(min=0.0, max=1.35 * highest if highest > 0 else 1.0)
    marks = [
        bqplot.Scatter(
            x=np.asarray(xs, dtype=float),
            y=np.asarray(ys, dtype=float),
            scales={"x": x_scale, "y": y_scale},
            colors=[_PALETTE[i % len(_PALETTE)]],
            labels=[label],
            display_legend=True,
            default_size=36,
        )
        for i, (label, (xs, ys)) in enumerate(series.items())
    ]
    axes = [
        bqplot.Axis(scale=x_scale, label=x_label),
        _y_axis(y_scale, y_label),
    ]
    return _figure(marks, axes, title, legend="top-left")
