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

__all__ = ["bar_chart", "cdf_chart", "points_chart"]

_PALETTE = ("#1f77b4", "#e4572e", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")
_MARGIN = {"top": 50, "bottom": 60, "left": 70, "right": 20}


def _figure(marks: list[Any], axes: list[Any], title: str, legend: str = "top-right") -> Any:
    return bqplot.Figure(
        marks=marks,
        axes=axes,
        title=title,
        animation_duration=0,
        fig_margin=_MARGIN,
        legend_location=legend,
        layout=widgets.Layout(width="100%", height="320px"),
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
        bqplot.Axis(scale=y_scale, side="left", label=y_label, tick_format=".3~s"),
    ]
    return _figure([bars], axes, title)


def cdf_chart(
    series: Mapping[str, Sequence[float]], *, title: str, x_label: str = "latency (ms)"
) -> Any:
    """Cumulative distributions: for each x, the share of values at or below it (in %)."""
    x_scale = bqplot.LinearScale(min=0.0)
    y_scale = bqplot.LinearScale(min=0.0, max=100.0)
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
        bqplot.Axis(scale=y_scale, side="left", label="% at or below"),
    ]
    return _figure(marks, axes, title, legend="bottom-right")  # empty under a rising curve


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
        bqplot.Axis(scale=y_scale, side="left", label=y_label),
    ]
    return _figure(marks, axes, title, legend="top-left")
