"""The widget's data: a fixed window of recent samples turned into chart arrays and table rows.

Pure (numpy only, no widgets, no asyncio) so the chart's numbers are tested without a kernel. The
window never grows: after a million samples it holds the same ``size`` as after ``size``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from ..gaps import is_gap, nominal_intervals
from ..schema import Sample

__all__ = ["SampleWindow", "busy_percent"]


def busy_percent(sample: Sample) -> float:
    """us + sy: the share of CPU time doing work (iostat's two busy columns)."""
    return sample["cpu"]["us"] + sample["cpu"]["sy"]


class SampleWindow:
    """The last ``size`` samples, with the breaks a chart must show.

    A break is drawn where :func:`iostat_widget.gaps.is_gap` says samples are missing (lost,
    a restart, a clock step, a pause), judged against the window's nominal interval. The chart
    gets a NaN point there, which bqplot leaves undrawn, so no line is invented across an outage.
    """

    def __init__(self, size: int = 60) -> None:
        if size < 1:
            raise ValueError(f"window size must be at least 1, got {size!r}")
        self.size = size
        self._samples: deque[Sample] = deque(maxlen=size)

    def __len__(self) -> int:
        return len(self._samples)

    def add(self, sample: Sample) -> None:
        """Append one sample (the oldest falls out when the window is full)."""
        self._samples.append(sample)

    @property
    def newest(self) -> Sample | None:
        """The most recent sample, if any."""
        return self._samples[-1] if self._samples else None

    def columns(
        self, *getters: Callable[[Sample], float]
    ) -> tuple[npt.NDArray[np.datetime64], npt.NDArray[np.float64]]:
        """``x`` as datetime64[ms] and one row of ``y`` per getter, with NaN at every break.

        Breaks are judged by :func:`iostat_widget.gaps.is_gap`, each against the nominal interval
        of its server run; each NaN point sits midway between the samples it separates.
        """
        times: list[float] = []
        rows: list[list[float]] = [[] for _ in getters]
        nominals = nominal_intervals(self._samples)
        previous: Sample | None = None
        for sample, nominal in zip(self._samples, nominals, strict=True):
            if previous is not None and is_gap(previous, sample, nominal):
                times.append((previous["t"] + sample["t"]) / 2)
                for row in rows:
                    row.append(np.nan)
            times.append(sample["t"])
            for row, getter in zip(rows, getters, strict=True):
                row.append(getter(sample))
            previous = sample
        millis = np.rint(np.asarray(times, dtype=np.float64) * 1000.0).astype(np.int64)
        y = np.array(rows, dtype=np.float64).reshape(len(getters), len(times))
        return millis.astype("datetime64[ms]"), y

    def chart(self) -> tuple[npt.NDArray[np.datetime64], npt.NDArray[np.float64]]:
        """The CPU chart: two rows, [us + sy, us], with NaN at breaks.

        Two rows stacked this way draw iostat's us/sy as areas: the us+sy area first, the us area
        over it, so the visible top band is system time.
        """
        return self.columns(busy_percent, lambda s: s["cpu"]["us"])

    def rows(self, count: int) -> Sequence[Sample]:
        """The newest ``count`` samples, newest first (the table's order)."""
        newest_first = list(reversed(self._samples))
        return newest_first[:count]
