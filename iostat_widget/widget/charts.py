"""The monitor's bqplot charts: what each one plots, built once, updated with numpy arrays.

One host: CPU as iostat's stacked us/sy areas (%), and line charts for disk and network (two
lines each, bytes/s) and memory (one line, % used). Several hosts: one line per host in every
chart (busy %, disk and network bytes/s, memory %). With one host, the CPU and memory charts can
also draw this kernel's own cost as a line (:mod:`.kernel_cost`): CPU as % of all the machine's
CPUs, the chart's scale (its legend says what one core is: 12.5 % on 8 CPUs), memory as RSS in %
of the machine's memory. Each chart is a small HTML header (its name,
unit and a legend in its lines' colours: nothing is drawn over the plot) above a bqplot figure.
A hidden chart is left out of the page (a figure in a hidden element would draw at zero size) and
is not updated, so it costs no comm messages.

The time axis spans the window (``size - 1`` nominal intervals, or more when the samples do),
ending at the newest sample, so the chart scrolls at a steady pace and a pause shows as empty
space; with one host the span is set by a leading NaN point in the mark's own arrays (no extra
message), with several by an invisible frame mark while the host marks leave the domain alone,
so a host that stopped scrolls away instead of holding it. The frame reaches one interval past
the newest sample and moves only when that is half used up: about two small messages per
interval, however many hosts tick in between. A lone
sample is drawn as a short flat segment (``SampleWindow.columns(lone=...)``). Time ticks are
computed here (at most six, on round times, none at the very edges, labelled in UTC like the
table) and sent only when they change, about twice per tick step; rate axes end at a round number
with at most six ticks in SI units (``2.5M``); percent axes are 0-100 by 25. No line is ever all
NaN (the front end logs an error for each): an empty chart has no points and no time ticks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from html import escape
from typing import Final

import bqplot
import ipywidgets as widgets
import numpy as np
import numpy.typing as npt

from ..schema import Sample
from .formats import to_fixed
from .kernel_cost import kernel_cpu, kernel_mem
from .palette import (
    KERNEL_LINE,
    LINES,
    SYSTEM_FILL,
    SYSTEM_LINE,
    USER_FILL,
    USER_LINE,
    host_colour,
)
from .window import SampleWindow, busy_percent

__all__ = [
    "CHARTS",
    "Chart",
    "ChartSpec",
    "nice_ticks",
    "tick_step",
    "time_format",
    "time_ticks",
]

Getter = Callable[[Sample], float]

#: Half-width of the segment a lone sample is drawn as, in nominal intervals.
LONE: Final = 0.5
#: The time axis spans at least this many nominal intervals (a window of one or two samples).
MIN_SPAN_INTERVALS: Final = 4
#: Bytes/s; a rate axis never ends below this (an idle disk draws a flat line, not noise).
RATE_FLOOR: Final = 1000.0
PERCENT_TICKS: Final = (0.0, 25.0, 50.0, 75.0, 100.0)
#: Seconds between time ticks, the first that gives at most ``MAX_TICKS`` wins.
TICK_STEPS: Final = (
    *(0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30),
    *(60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400),
)
MAX_TICKS: Final = 6
#: No time tick closer than this share of the axis to either end (its label would stick out).
TICK_EDGE: Final = 0.04
_MARGIN: Final = {"top": 12, "bottom": 24, "left": 44, "right": 34}
_NO_TIMES: Final = np.array([], dtype="datetime64[ms]")
_HEADER = (
    '<div style="display:flex;flex-wrap:wrap;gap:2px 12px;align-items:baseline;font-size:12px;'
    'color:var(--jp-ui-font-color1,#1d2430)">{}</div>'
)


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
    #: single host, when asked: this kernel's own cost in the chart's unit, and its legend
    #: (``{core}``: the % one core is on this scale)
    kernel: Getter | None = None
    kernel_label: str = ""


CHARTS: dict[str, ChartSpec] = {
    spec.name: spec
    for spec in (
        ChartSpec(
            "cpu",
            "CPU",
            "CPU",
            "% of CPU time",
            (("sy (system)", busy_percent), ("us (user)", lambda s: s["cpu"]["us"])),
            busy_percent,
            percent=True,
            kernel=kernel_cpu,
            kernel_label="this kernel (1 core = {core} %)",
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
            (("received", lambda s: s["net"]["rx_bps"]), ("sent", lambda s: s["net"]["tx_bps"])),
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
            kernel=kernel_mem,
            kernel_label="this kernel (RSS)",
        ),
    )
}


def nice_ticks(peak: float, floor: float = RATE_FLOOR) -> list[float]:
    """Ticks from 0 to a round top at or above ``peak`` (and ``floor``), at most six of them,
    spaced 1, 2, 2.5 or 5 times a power of ten."""
    peak = max(peak, floor)
    magnitude = 10.0 ** math.floor(math.log10(peak / 5))
    step = next(m * magnitude for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * magnitude * 5 >= peak)
    steps = math.ceil(peak / step - 1e-9)
    return [step * i for i in range(steps + 1)]


def tick_step(span: float, most: int = MAX_TICKS, keep: float | None = None) -> float:
    """Seconds between time ticks over ``span`` seconds: the smallest of :data:`TICK_STEPS`
    giving at most ``most``. ``keep``, the step in use, stays while it gives between 1 and
    ``most`` + 1 ticks: a span that wanders around a boundary (a measured interval jitters)
    must not flip the labels from one sample to the next."""
    if keep is not None and 1 <= span / keep <= most + 1:
        return keep
    return next((s for s in TICK_STEPS if span / s <= most), TICK_STEPS[-1])


def time_ticks(
    start: float, end: float, most: int = MAX_TICKS, step: float | None = None
) -> list[float]:
    """Round times (epoch seconds) to tick the axis from ``start`` to ``end`` with: multiples of
    ``step`` (default :func:`tick_step`), none within :data:`TICK_EDGE` of either end."""
    span = end - start
    if not span > 0:
        return []
    step = step if step is not None else tick_step(span, most)
    edge = span * TICK_EDGE
    first, last = math.ceil((start + edge) / step), math.floor((end - edge) / step)
    return [round(k * step, 3) for k in range(first, last + 1)]


def time_format(ticks: Sequence[float]) -> str:
    """The label format for ``ticks``: ``HH:MM:SS``, or ``MM:SS.mmm`` when they are less than
    a second apart (labels never repeat)."""
    return "%M:%S.%L" if len(ticks) > 1 and ticks[1] - ticks[0] < 1 else "%H:%M:%S"


def _legend(items: Sequence[tuple[str, str]]) -> str:
    return "".join(
        f'<span style="white-space:nowrap"><span style="display:inline-block;width:14px;'
        f'height:3px;margin:0 4px 3px 0;vertical-align:middle;background:{colour}"></span>'
        f"{escape(label)}</span>"
        for label, colour in items
    )


class Chart:
    """A bqplot figure for one :class:`ChartSpec` over one or several hosts' windows.

    ``size`` is the windows' size and ``interval`` the seconds between samples expected until
    samples say otherwise; ``time_ticks`` is the most time labels (a narrow chart wants fewer).
    ``kernel`` adds this kernel's own cost as a line over a single host's (where the spec has
    one: CPU as % of the ``cpus`` CPUs of the kernel's machine, memory as % of its memory).
    """

    def __init__(
        self,
        spec: ChartSpec,
        hosts: Sequence[str],
        height: str,
        *,
        size: int = 60,
        interval: float = 1.0,
        time_ticks: int = MAX_TICKS,
        kernel: bool = False,
        cpus: int = 1,
    ) -> None:
        self.spec = spec
        self.cpus = cpus
        #: whether the kernel's line is drawn
        self.kernel = kernel and len(hosts) == 1 and spec.kernel is not None
        self.max_ticks = time_ticks
        self.hosts = list(hosts)
        self.size = size
        self.interval = interval
        self.visible = True  #: hidden charts are neither on the page nor updated
        self.scope = "host"
        x_scale = bqplot.DateScale()
        top = 100.0 if spec.percent else RATE_FLOOR
        self.y_scale = bqplot.LinearScale(min=0.0, max=top)
        scales = {"x": x_scale, "y": self.y_scale}
        self.marks: list[bqplot.Lines] = []
        self.frame: bqplot.Lines | None = None  # several hosts: the mark that sets the x span
        self._ends: dict[int, np.datetime64] = {}  # several hosts: each host's newest x
        self._peaks: dict[int, float] = {}  # several hosts: each host's highest value
        self._frame_end: np.datetime64 | None = None  # several hosts: the frame's right end,
        self._lead: np.timedelta64 = np.timedelta64(0, "ms")  # how far past the newest it was,
        self._frame_span: np.timedelta64 = np.timedelta64(0, "ms")  # and how wide it is
        self._ticks: list[float] = []  # the time ticks sent
        self._step: float | None = None  # seconds between them
        self._getters = tuple(getter for _, getter in spec.rows)
        if self.kernel:
            assert spec.kernel is not None
            self._getters += (spec.kernel,)
        extra = [KERNEL_LINE] if self.kernel else []  # the kernel line's colour
        extra_label = [self._kernel_label()] if self.kernel else []
        self.stacked = spec.name == "cpu" and len(self.hosts) == 1
        if self.stacked:
            self.marks.append(
                bqplot.Lines(
                    x=_NO_TIMES,
                    y=np.empty((2, 0)),
                    scales=scales,
                    colors=[SYSTEM_LINE, USER_LINE, *extra],
                    fill="bottom",
                    fill_colors=[SYSTEM_FILL, USER_FILL, *extra],
                    fill_opacities=[1.0, 1.0, *(0.0 for _ in extra)],  # the kernel: a line
                    labels=[*(label for label, _ in spec.rows), *extra_label],
                    stroke_width=1.5,
                )
            )
        elif len(self.hosts) == 1:
            rows = len(self._getters)
            self.marks.append(
                bqplot.Lines(
                    x=_NO_TIMES,
                    y=np.empty(0) if rows == 1 else np.empty((rows, 0)),
                    scales=scales,
                    colors=[*LINES[: len(spec.rows)], *extra],
                    labels=[*(label for label, _ in spec.rows), *extra_label],
                    stroke_width=1.5,
                )
            )
        else:
            # Two points at 0 spanning the axis, drawn in no colour (NaN would log errors).
            self.frame = bqplot.Lines(
                x=_NO_TIMES, y=np.empty(0), scales=scales, colors=["transparent"]
            )
            for number, host in enumerate(self.hosts):
                self.marks.append(
                    bqplot.Lines(
                        x=_NO_TIMES,
                        y=np.empty(0),
                        scales=scales,
                        colors=[host_colour(number)],
                        labels=[host],
                        stroke_width=1.5,
                        preserve_domain={"x": True},  # the frame sets the span
                    )
                )
        # num_ticks=0 while there are no tick values: bqplot would draw d3's default ticks of an
        # empty domain (a stack of "00:00:00"); it must be None once there are some.
        self.x_axis = bqplot.Axis(
            scale=x_scale,
            tick_values=_NO_TIMES,
            num_ticks=0,
            tick_format="%H:%M:%S",
            grid_lines="none",
        )
        ticks = PERCENT_TICKS if spec.percent else nice_ticks(0.0)
        self.y_axis = bqplot.Axis(
            scale=self.y_scale,
            side="left",
            tick_values=np.asarray(ticks),
            tick_format=".0f" if spec.percent else "~s",
            # Grid lines are the ticks, so labels sit at the axis, under its end marks: move them.
            tick_style={"transform": "translateX(-4px)"},
            grid_lines="solid",
            grid_color="var(--jp-border-color2, #e3e7ee)",
        )
        marks = [self.frame, *self.marks] if self.frame is not None else self.marks
        self.figure = bqplot.Figure(
            marks=marks,
            axes=[self.x_axis, self.y_axis],
            animation_duration=0,
            fig_margin=dict(_MARGIN),
            layout=widgets.Layout(width="auto", height=height, min_width="0", margin="0"),
        )
        self.header = widgets.HTML(self._header_html(), layout=widgets.Layout(margin="0 0 0 8px"))
        self.box = widgets.VBox(
            [self.header, self.figure],
            layout=widgets.Layout(min_width="0", margin="0"),
        )

    # -- pieces -----------------------------------------------------------------------------
    def _kernel_label(self) -> str:
        """The kernel line's legend, with the % one core is on a CPU chart's scale."""
        return self.spec.kernel_label.format(core=to_fixed(100.0 / max(self.cpus, 1), 1))

    def _header_html(self) -> str:
        spec = self.spec
        if len(self.hosts) > 1:
            title = "CPU busy (us+sy)" if spec.name == "cpu" else spec.title
            items: list[tuple[str, str]] = []  # the headline's host table names the colours
        elif self.stacked:
            title = spec.title
            items = [("us (user)", USER_FILL), ("sy (system)", SYSTEM_FILL)]
        else:
            title = spec.title
            items = [(label, LINES[i]) for i, (label, _) in enumerate(spec.rows)]
        if self.kernel:
            items.append((self._kernel_label(), KERNEL_LINE))
        if self.scope == "container":
            title += " · container"
        unit = f'<span style="color:var(--jp-ui-font-color2,#667085)">{escape(spec.unit)}</span>'
        return _HEADER.format(f"<b>{escape(title)}</b>{unit}{_legend(items)}")

    def _span(self, nominal: float, seen: float) -> np.timedelta64:
        """The time axis's width: the window at ``nominal``, at least ``seen`` seconds."""
        seconds = max((self.size - 1) * nominal, MIN_SPAN_INTERVALS * nominal, seen)
        return np.timedelta64(round(seconds * 1000), "ms")

    def show(self, visible: bool) -> None:
        """Mark the chart shown or hidden (the monitor puts only shown ones on the page)."""
        self.visible = visible

    def set_scope(self, scope: str) -> None:
        """Say whose numbers these are: ``"container"`` adds " · container" to the title."""
        if scope != self.scope:
            self.scope = scope
            self.header.value = self._header_html()

    # -- updates ----------------------------------------------------------------------------
    def update(
        self, windows: Sequence[SampleWindow], changed: Collection[int] | None = None
    ) -> None:
        """Push the windows' current arrays, one comm message per mark; with several hosts, only
        the marks of the hosts in ``changed`` (all when ``None``), plus the frame: hosts tick at
        their own times, and fifty hosts must not cost fifty messages per sample."""
        if len(windows) == 1:
            self._update_one(windows[0])
            return
        for number, (mark, window) in enumerate(zip(self.marks, windows, strict=True)):
            if changed is not None and number not in changed:
                continue
            x, y = self._host_columns(number, window)
            with mark.hold_sync():
                mark.x, mark.y = x, y
            if len(x):
                self._ends[number] = x[-1]
                self._peaks[number] = _peak(y)
        assert self.frame is not None
        if not self._ends:
            return
        newest = max(self._ends.values())
        end, lead, span = self._frame_end, self._lead, self._frame_span
        if end is None or newest > end - lead // 2 or newest < end - 2 * lead:
            # The fastest host's interval sets the pace; looked up only when the frame moves.
            nominals = [nominal for w in windows if (nominal := w.nominal()) is not None]
            nominal = min(nominals, default=self.interval)
            lead = self._lead = np.timedelta64(round(nominal * 1000), "ms")
            span = self._frame_span = self._span(nominal, 0.0)
            end = self._frame_end = newest + lead
            with self.frame.hold_sync():
                self.frame.x, self.frame.y = np.array([end - span, end]), np.zeros(2)
        start = end - span
        shown = [self._peaks[n] for n, e in self._ends.items() if e >= start]  # not the gone
        self._fit(max(shown, default=0.0), _seconds(start), _seconds(end))

    def _host_columns(
        self, number: int, window: SampleWindow
    ) -> tuple[npt.NDArray[np.datetime64], npt.NDArray[np.float64]]:
        """Host ``number``'s arrays as its mark takes them: ``x`` (datetime64[ms], ``(n,)``) and
        ``y`` of shape ``(n,)``, its one line (a chart with several lines per host overrides it:
        ``(lines, n)``)."""
        x, y = window.columns(self.spec.per_host, lone=LONE)
        return x, y[0]

    def _update_one(self, window: SampleWindow) -> None:
        # Runs on every sample: integer milliseconds, no datetime64 scalars, no work a percent
        # chart does not need.
        rows = len(self._getters)
        x, y = window.columns(*self._getters, lone=LONE)
        if not len(x):
            return  # nothing yet: the empty frame stays
        millis = x.view(np.int64)
        end = int(millis[-1])
        span = self._span(window.nominal() or self.interval, (end - int(millis[0])) / 1000.0)
        start = end - int(span / np.timedelta64(1, "ms"))
        lead = np.empty(len(x) + 1, dtype=np.int64)  # the window's start: sets the axis's span
        lead[0], lead[1:] = start, millis
        values = np.empty((rows, len(x) + 1))
        values[:, 0], values[:, 1:] = np.nan, y
        with self.marks[0].hold_sync():  # the data first: it is what the user waits for
            self.marks[0].x = lead.view("datetime64[ms]")
            self.marks[0].y = values[0] if rows == 1 else values
        self._fit(0.0 if self.spec.percent else _peak(y), start / 1000.0, end / 1000.0)

    def _fit(self, peak: float, start: float, end: float) -> None:
        """Keep the axes readable: a rate axis ending at a round number above ``peak``, and time
        ticks on round times from ``start`` to ``end`` (epoch seconds); each sent only when it
        changes."""
        if not self.spec.percent:
            ticks = nice_ticks(peak)
            if self.y_scale.max != ticks[-1]:
                with self.y_scale.hold_sync():
                    self.y_scale.max = ticks[-1]
                with self.y_axis.hold_sync():
                    self.y_axis.tick_values = np.asarray(ticks)
        span = end - start
        self._step = tick_step(span, self.max_ticks, self._step) if span > 0 else None
        times = time_ticks(start, end, self.max_ticks, self._step)
        if times != self._ticks:
            self._ticks = times
            values = np.rint(np.asarray(times) * 1000.0).astype(np.int64).astype("datetime64[ms]")
            fmt = time_format(times)
            # bqplot draws new values with the old format for a moment: whole-second labels on
            # sub-second ticks would repeat. So the finer of the two goes first: milliseconds
            # before sub-second ticks, whole-second ticks before dropping milliseconds.
            finer_first = fmt.endswith("%L")
            with self.x_axis.hold_sync():
                if finer_first:
                    self.x_axis.tick_format = fmt
                else:
                    self.x_axis.tick_values = values
            with self.x_axis.hold_sync():
                if finer_first:
                    self.x_axis.tick_values = values
                else:
                    self.x_axis.tick_format = fmt
                self.x_axis.num_ticks = None if times else 0

    def close(self) -> None:
        """Close the figure, its header and everything in them."""
        marks = [self.frame, *self.marks] if self.frame is not None else self.marks
        scales = {scale for mark in marks for scale in mark.scales.values()}
        for widget in (*marks, *self.figure.axes, *scales, self.figure, self.header, self.box):
            widget.close()


def _seconds(t: np.datetime64) -> float:
    """Epoch seconds of a ``datetime64[ms]``."""
    return float((t - np.datetime64(0, "ms")) / np.timedelta64(1, "ms")) / 1000.0


def _peak(y: npt.NDArray[np.float64]) -> float:
    """The highest finite value in ``y`` (0 for none), without numpy's all-NaN warning."""
    finite = y[np.isfinite(y)]
    return float(finite.max()) if finite.size else 0.0
