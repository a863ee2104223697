"""A static picture of samples: the chart ``%%iostat`` leaves in a cell, and a monitor's last
window, as PNG bytes that a saved notebook keeps and GitHub, nbviewer or a PDF export show.

Drawn with matplotlib (the ``record`` extra) on a :class:`matplotlib.figure.Figure` of its own
with the Agg canvas: pyplot is never imported, so the user's figures, backend and style are left
alone. What is drawn is computed first by :func:`steps` (pure, numpy only): every sample covers
the ``interval`` seconds before its ``t``, so it is drawn as a stair over that stretch, and a
stretch with no sample (a break) stays empty.

Panels: CPU (us, sy, wa stacked, % of the machine), disk and network (bytes/s), memory (% used)
and, for a record of this kernel, the kernel's CPU (% of one core) and resident memory.
"""

from __future__ import annotations

import base64
import io
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt

from .record import KernelReading, Record, format_bytes, require
from .schema import Sample
from .widget.palette import LINES, SYSTEM_FILL, USER_FILL, host_colour

if TYPE_CHECKING:
    from .record import Summary

__all__ = ["Steps", "record_png", "static_alternative", "steps", "window_png"]

log = logging.getLogger(__name__)

_WAIT_FILL: Final = "#94a3b8"
_INCH: Final = 100  # pixels per inch in the PNG
#: Legends sit above a panel's top right, beside its title, so they hide no line.
_LEGEND: Final[dict[str, Any]] = {
    "fontsize": 8,
    "loc": "lower right",
    "bbox_to_anchor": (1.0, 1.0),
    "frameon": False,
    "borderaxespad": 0.1,
}

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Steps:
    """Stairs to draw: ``edges`` (seconds from the origin) of shape ``(m + 1,)`` and ``values``
    of shape ``(m,)`` per figure; each sample is one stair, and a NaN stair sits in each break
    (a stretch longer than a tenth of an interval with no sample), so none is drawn across it."""

    edges: Array
    values: dict[str, Array]


def steps(
    samples: Sequence[Sample],
    origin: float,
    figures: dict[str, Callable[[Sample], float]],
) -> Steps:
    """The stairs of ``figures`` (name: getter) over ``samples`` in time order; ``origin`` in
    epoch seconds is x = 0."""
    edges: list[float] = []
    values: dict[str, list[float]] = {name: [] for name in figures}
    for sample in samples:
        begin, end = sample["t"] - sample["interval"] - origin, sample["t"] - origin
        if edges and begin - edges[-1] > 0.1 * sample["interval"]:  # a break: an empty stair
            for row in values.values():
                row.append(math.nan)
        elif edges:
            begin = max(edges.pop(), begin)  # stairs meet
        edges += [begin, end]
        for name, getter in figures.items():
            values[name].append(getter(sample))
    return Steps(
        np.asarray(edges, dtype=np.float64),
        {name: np.asarray(row, dtype=np.float64) for name, row in values.items()},
    )


_MACHINE: Final[dict[str, Callable[[Sample], float]]] = {
    "us": lambda s: s["cpu"]["us"],
    "sy": lambda s: s["cpu"]["sy"],
    "wa": lambda s: s["cpu"]["wa"],
    "read": lambda s: s["disk"]["read_bps"],
    "write": lambda s: s["disk"]["write_bps"],
    "rx": lambda s: s["net"]["rx_bps"],
    "tx": lambda s: s["net"]["tx_bps"],
    "mem": lambda s: s["mem"]["used_pct"],
}


def _rate_axis(axes: Any) -> None:
    ticker = require("matplotlib.ticker", "the static chart")
    axes.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{format_bytes(v)}/s"))
    # Whole bytes: an idle interface's axis reads 0 and 1 B/s, not "0 B/s, 0 B/s, 1 B/s".
    axes.yaxis.set_major_locator(ticker.MaxNLocator(nbins="auto", integer=True))
    _headroom(axes)


def _headroom(axes: Any) -> None:
    """From 0 to 15 % above the highest value drawn, so a line at its peak is not hidden by the
    frame."""
    top = float(axes.dataLim.intervaly[1])
    axes.set_ylim(0, max(top if math.isfinite(top) else 0.0, 1.0) * 1.15)


def _draw_host(panels: dict[str, Any], drawn: Steps, colour: str | None, label: str) -> None:
    """One host's stairs: stacked us/sy/wa areas alone (``colour`` None), else one line each."""
    e, v = drawn.edges, drawn.values
    if not e.size:
        return
    if colour is None:
        busy = v["us"] + v["sy"]
        panels["cpu"].stairs(busy + v["wa"], e, baseline=busy, fill=True, color=_WAIT_FILL,
                             label="wa")  # fmt: skip
        panels["cpu"].stairs(busy, e, baseline=v["us"], fill=True, color=SYSTEM_FILL, label="sy")
        panels["cpu"].stairs(v["us"], e, fill=True, color=USER_FILL, label="us")
        for name, key, tint in (("disk", "read", 0), ("disk", "write", 1), ("net", "rx", 0),
                                ("net", "tx", 1), ("mem", "mem", 2)):  # fmt: skip
            panels[name].stairs(v[key], e, baseline=None, color=LINES[tint], linewidth=1.6,
                                label=key)  # fmt: skip
        return
    panels["cpu"].stairs(
        v["us"] + v["sy"], e, baseline=None, color=colour, linewidth=1.6, label=label
    )
    for name, keys in (("disk", ("read", "write")), ("net", ("rx", "tx")), ("mem", ("mem",))):
        for key, style in zip(keys, ("-", "--"), strict=False):
            panels[name].stairs(
                v[key], e, baseline=None, color=colour, linewidth=1.4, linestyle=style
            )


def _png(
    runs: Sequence[tuple[str, Sequence[Sample]]],
    origin: float,
    title: str,
    span: tuple[float, float] | None = None,
    kernel: tuple[Sequence[Sample], Sequence[KernelReading]] | None = None,
    notes: str = "",
) -> bytes:
    """Draw one set of stairs per ``(host, samples)`` run (and the kernel's, if given) to PNG."""
    require("matplotlib", "the static chart")
    from matplotlib.figure import Figure

    rows = 3 if kernel is not None else 2
    figure = Figure(figsize=(9.6, 2.1 * rows + 0.5), dpi=_INCH, layout="constrained")
    grid = figure.subplots(rows, 2, sharex=True, squeeze=False)
    names = ["cpu", "mem", "disk", "net"] if kernel is None else ["cpu", "kernel", "disk", "net",
                                                                   "mem", "blank"]  # fmt: skip
    panels = dict(zip(names, grid.flat, strict=True))
    for number, (host, samples) in enumerate(runs):
        colour = None if len(runs) == 1 else host_colour(number)
        _draw_host(panels, steps(samples, origin, _MACHINE), colour, host)
    titles = {"cpu": "CPU (% of the machine)", "disk": "disk", "net": "network",
              "mem": "memory (% used)"}  # fmt: skip
    for name, text in titles.items():
        panels[name].set_title(text, loc="left", fontsize=10)
    panels["cpu"].set_ylim(0, 100)
    panels["mem"].set_ylim(0, 100)
    _rate_axis(panels["disk"])
    _rate_axis(panels["net"])
    if kernel is not None:
        _draw_kernel(panels["kernel"], kernel, origin)
        panels["blank"].set_axis_off()
        panels["blank"].text(0.02, 0.95, notes, va="top", fontsize=9, wrap=True)
        panels["mem"].tick_params(labelbottom=True)
    for axes in grid.flat:
        if axes is panels.get("blank"):
            continue
        axes.grid(alpha=0.3)
        axes.tick_params(labelsize=8)
        if span is not None:
            axes.axvspan(*span, color="#fffbeb", linewidth=0, zorder=0)
        if axes.get_legend_handles_labels()[0] and axes is not panels.get("kernel"):
            axes.legend(**_LEGEND, ncols=3)
    clock = datetime.fromtimestamp(origin, UTC).strftime("%H:%M:%S UTC")
    for axes in grid[-1]:
        axes.set_xlabel(f"seconds from {clock}", fontsize=9)
    figure.suptitle(title, fontsize=10, x=0.01, ha="left")
    out = io.BytesIO()
    figure.savefig(out, format="png", facecolor="white")
    return out.getvalue()


def _draw_kernel(
    axes: Any, kernel: tuple[Sequence[Sample], Sequence[KernelReading]], origin: float
) -> None:
    samples, readings = kernel
    pairs = dict(zip((id(s) for s in samples), readings, strict=True))
    drawn = steps(samples, origin, {
        "cpu": lambda s: pairs[id(s)]["cpu_pct"],
        "rss": lambda s: pairs[id(s)]["rss_bytes"],
    })  # fmt: skip
    axes.set_title("this kernel", loc="left", fontsize=10)
    axes.stairs(drawn.values["cpu"], drawn.edges, baseline=None, color=LINES[0], linewidth=1.6)
    axes.set_ylim(0, max(100.0, float(np.nanmax(drawn.values["cpu"], initial=0.0)) * 1.1))
    rss = axes.twinx()
    rss.stairs(drawn.values["rss"], drawn.edges, baseline=None, color=LINES[1], linewidth=1.4)
    ticker = require("matplotlib.ticker", "the static chart")
    rss.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: format_bytes(v)))
    _headroom(rss)
    rss.tick_params(labelsize=8)
    lines = axes.patches[-1:] + rss.patches[-1:]
    axes.legend(lines, ["CPU (% of one core)", "RSS"], **_LEGEND, ncols=2)


def record_png(record: Record) -> bytes:
    """The chart of a :class:`~iostat_widget.record.Record`: x is seconds from its start, the
    recorded stretch shaded.

    Raises:
        ImportError: matplotlib is missing (the message names the ``record`` extra).
    """
    summary: Summary = record.summary()
    host = summary.host or "no samples"
    title = f"%%iostat: {record.seconds:.1f} s on {host}"
    kernel = (record.samples, record.kernel) if record.kernel is not None else None
    notes = "\n".join(summary.line().removeprefix("iostat: ").split("; "))
    span = (0.0, record.seconds)
    return _png([(host, record.samples)], record.start, title, span, kernel, notes)


def window_png(runs: Sequence[tuple[str, Sequence[Sample]]], title: str) -> bytes:
    """The chart of a monitor's windows, one ``(host, samples)`` per feed, x in seconds from the
    first sample's interval; an empty window draws empty panels.

    Raises:
        ImportError: matplotlib is missing (the message names the ``record`` extra).
    """
    starts = [s["t"] - s["interval"] for _, samples in runs for s in samples[:1]]
    return _png(runs, min(starts, default=0.0), title)


def static_alternative(runs: Sequence[tuple[str, Sequence[Sample]]], title: str) -> dict[str, str]:
    """``{"image/png": base64}`` of :func:`window_png`, for a widget's mimebundle: what a
    notebook viewer without the widget's front end shows. Empty when matplotlib is missing or
    drawing fails (logged at debug level): a display must never fail for its picture."""
    try:
        return {"image/png": base64.b64encode(window_png(runs, title)).decode("ascii")}
    except Exception:
        log.debug("iostat-widget: no static picture", exc_info=True)
        return {}
