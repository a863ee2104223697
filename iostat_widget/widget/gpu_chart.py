"""The monitor's GPU chart: each NVIDIA GPU's utilization and memory used, one line per device.

Samples carry GPUs in their optional ``gpu`` list (:mod:`iostat_widget.gpu_schema`): one entry per
device, ``util_pct`` and ``mem_used_pct`` in percent (0-100), either absent where the device does
not report it. The pure part turns a window of samples into per-device arrays: :func:`gpu_lines`
says which lines the window's samples show (for each device index seen, utilization where any
sample reports it, then memory used; sorted by index), :func:`gpu_columns` gives their arrays, with
NaN (a gap) where a sample lacks that device or that figure and at every break between samples.
So a device appearing draws from its first sample, one failing a reading leaves a gap, a device in
MIG mode (no utilization) draws only its memory line, and one no longer in the window is gone.

:class:`GpuChart` draws them as a :class:`~iostat_widget.widget.charts.Chart` of percent (0-100):
per host one mark (one comm message per update, however many devices), utilization as a line and
memory used as a line over a pale shaded area, both in the device's colour. Colours are given in
the order devices first appear (those of one sample by index; on one machine GPU ``i`` gets the
``i``-th colour, like the page), kept while the chart lives, and reused past eight devices. The
header's legend names each device: ``GPU n``, or ``host GPU n`` for a monitor of several hosts.
The monitor makes the chart only when a sample carries ``gpu`` (see ``Monitor``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Final, Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from ..schema import Sample
from .charts import LONE, MAX_TICKS, Chart, ChartSpec, _legend
from .palette import HOSTS
from .window import SampleWindow

__all__ = ["GPU_SPEC", "GpuChart", "GpuFigure", "GpuLine", "gpu_columns", "gpu_lines"]

GpuFigure = Literal["util_pct", "mem_used_pct"]
#: A figure's words in a line's label.
FIGURE_NAMES: Final[dict[str, str]] = {"util_pct": "utilization", "mem_used_pct": "memory used"}
#: Opacity of a memory line, and of the area under it (a utilization line: 1, nothing shaded).
MEM_LINE_OPACITY: Final = 0.7
MEM_FILL_OPACITY: Final = 0.12


class GpuLine(NamedTuple):
    """One line of the chart: the ``device`` index (NVML's numbering) and the figure it draws."""

    device: int
    figure: GpuFigure


def _nothing(sample: Sample) -> float:
    return math.nan


GPU_SPEC: Final = ChartSpec(
    "gpu",
    "GPU",
    "GPU",
    "% · utilization: line · memory used: shaded",
    (),  # the lines are the devices the samples show
    _nothing,
    percent=True,
)


def _samples(window: SampleWindow) -> Sequence[Sample]:
    return window.rows(len(window))  # newest first; the order does not matter here


def gpu_lines(window: SampleWindow | Iterable[Sample]) -> list[GpuLine]:
    """The lines the samples show: per device index seen, ``util_pct`` where any sample reports it,
    then ``mem_used_pct`` likewise; sorted by index. Empty when no sample carries a ``gpu``."""
    samples = _samples(window) if isinstance(window, SampleWindow) else window
    shown: set[GpuLine] = set()
    for sample in samples:
        for device in sample.get("gpu", ()):
            if "util_pct" in device:
                shown.add(GpuLine(device["index"], "util_pct"))
            if "mem_used_pct" in device:
                shown.add(GpuLine(device["index"], "mem_used_pct"))
    return sorted(shown, key=lambda line: (line.device, line.figure != "util_pct"))


def _getter(line: GpuLine) -> Callable[[Sample], float]:
    """A sample's value of ``line`` in percent; NaN where the sample does not have it."""
    device, figure = line

    def value(sample: Sample) -> float:
        for entry in sample.get("gpu", ()):
            if entry["index"] == device:
                return float(entry.get(figure, math.nan))
        return math.nan

    return value


def gpu_columns(
    window: SampleWindow, lines: Sequence[GpuLine], lone: float = 0.0
) -> tuple[npt.NDArray[np.datetime64], npt.NDArray[np.float64]]:
    """``x`` (datetime64[ms], shape ``(n,)``) and ``y`` (percent, shape ``(len(lines), n)``) of
    ``lines`` over the window: :meth:`SampleWindow.columns` with NaN where a sample lacks the
    device or the figure (``lone`` as there)."""
    return window.columns(*(_getter(line) for line in lines), lone=lone)


class GpuChart(Chart):
    """The GPU chart over one or several hosts' windows (``hosts``: their names as the monitor
    shows them); ``height``, ``size``, ``interval`` and ``time_ticks`` as for :class:`Chart`.

    Each host's mark is restyled (colours, labels, one message) only when the lines its window
    shows change; otherwise an update sends its arrays, one message per mark as for any chart.
    """

    def __init__(
        self,
        hosts: Sequence[str],
        height: str,
        *,
        size: int = 60,
        interval: float = 1.0,
        time_ticks: int = MAX_TICKS,
    ) -> None:
        self._lines: list[list[GpuLine]] = [[] for _ in hosts]  # what each host's mark draws
        self._names: list[str] = ["" for _ in hosts]  # each host's name in its lines' labels
        self._colours: dict[tuple[int, int], str] = {}  # (host number, device index): colour
        super().__init__(
            GPU_SPEC, hosts, height, size=size, interval=interval, time_ticks=time_ticks
        )

    def _header_html(self) -> str:
        # The base's header (title and unit), with one legend item per device seen.
        seen = {(n, line.device) for n, lines in enumerate(self._lines) for line in lines}
        items = [(self._device(n, index), self._colours[n, index]) for n, index in sorted(seen)]
        header = str(super()._header_html())
        return header[: -len("</div>")] + _legend(items) + "</div>"

    def _device(self, number: int, index: int) -> str:
        """Device ``index`` of host ``number`` as the legend and labels name it."""
        return f"{self._names[number]} GPU {index}".lstrip()

    def _restyle(self, number: int, window: SampleWindow) -> list[GpuLine]:
        """Host ``number``'s lines now; its mark and the legend are changed only when they do."""
        lines = gpu_lines(window)
        newest = window.newest
        name = (newest["host"] or self.hosts[number]) if len(self.hosts) > 1 and newest else ""
        if lines == self._lines[number] and name == self._names[number]:
            return lines
        for index in sorted({line.device for line in lines}):  # new devices: the next colours
            self._colours.setdefault((number, index), HOSTS[len(self._colours) % len(HOSTS)])
        self._lines[number], self._names[number] = lines, name
        colours = [self._colours[number, line.device] for line in lines]
        memory = [line.figure == "mem_used_pct" for line in lines]
        mark = self.marks[number]
        with mark.hold_sync():
            mark.colors = colours
            mark.labels = [
                f"{self._device(number, line.device)} {FIGURE_NAMES[line.figure]}" for line in lines
            ]
            mark.opacities = [MEM_LINE_OPACITY if m else 1.0 for m in memory]
            mark.fill = "bottom"
            mark.fill_colors = colours
            mark.fill_opacities = [MEM_FILL_OPACITY if m else 0.0 for m in memory]
        self.header.value = self._header_html()
        return lines

    def _update_one(self, window: SampleWindow) -> None:
        lines = self._restyle(0, window)
        self._getters = tuple(_getter(line) for line in lines)
        if lines:
            super()._update_one(window)
        elif len(self.marks[0].x):  # every device has left the window: nothing to draw
            self._clear(0)

    def _host_columns(
        self, number: int, window: SampleWindow
    ) -> tuple[npt.NDArray[np.datetime64], npt.NDArray[np.float64]]:
        lines = self._restyle(number, window)
        if not lines:
            return np.array([], dtype="datetime64[ms]"), np.empty((0, 0))
        x, y = gpu_columns(window, lines, lone=LONE)
        return x, y[0] if len(lines) == 1 else y

    def _clear(self, number: int) -> None:
        mark = self.marks[number]
        with mark.hold_sync():
            mark.x, mark.y = np.array([], dtype="datetime64[ms]"), np.empty((0, 0))
