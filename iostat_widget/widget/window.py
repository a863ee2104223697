"""The widget's data: a fixed window of recent samples turned into chart arrays and table rows.

Pure (numpy only, no widgets, no asyncio) so the chart's numbers are tested without a kernel. The
window never grows: after a million samples it holds the same ``size`` as after ``size``.

Shapes and units: ``columns()`` gives ``x`` as ``datetime64[ms]`` of shape ``(n,)`` (UTC, the
samples' ``t``) and ``y`` as float64 of shape ``(len(getters), n)`` in the getters' units (%,
bytes/s), where ``n`` counts the samples plus one NaN column per break (plus one column per lone
sample when asked to widen them). Intervals are seconds.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from ..gaps import is_gap, nominal_interval, nominal_intervals
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
        self._nominal: float | None = None  # nominal() of the samples held, until the next add

    def __len__(self) -> int:
        return len(self._samples)

    def add(self, sample: Sample) -> None:
        """Append one sample (the oldest falls out when the window is full)."""
        self._samples.append(sample)
        self._nominal = None

    @property
    def newest(self) -> Sample | None:
        """The most recent sample, if any."""
        return self._samples[-1] if self._samples else None

    @property
    def oldest(self) -> Sample | None:
        """The least recent sample, if any."""
        return self._samples[0] if self._samples else None

    def nominal(self) -> float | None:
        """Seconds between samples as their server was asked for: the nominal interval
        (:func:`iostat_widget.gaps.nominal_interval`, the lower median of ``interval``) of the
        newest server run in the window; ``None`` while empty. Cached until the next ``add``."""
        if self._nominal is None and self._samples:
            run = len(self._samples) - 1
            while run > 0 and self._samples[run - 1]["seq"] < self._samples[run]["seq"]:
                run -= 1
            self._nominal = nominal_interval([self._samples[i] for i in range(run, len(self))])
        return self._nominal

    def columns(
        self, *getters: Callable[[Sample], float], lone: float = 0.0
    ) -> tuple[npt.NDArray[np.datetime64], npt.NDArray[np.float64]]:
        """``x`` as datetime64[ms] and one row of ``y`` per getter, with NaN at every break.

        Breaks are judged by :func:`iostat_widget.gaps.is_gap`, each against the nominal interval
        of its server run; each NaN point sits midway between the samples it separates.

        ``lone`` (in nominal intervals; 0 leaves them alone) widens every lone sample, one with a
        break or a window edge on both sides, into a flat segment from ``lone`` before it to
        ``lone`` after it (never reaching the breaks' NaN points): a line through one point has
        no length, so a chart would show nothing of it. Each widened sample adds one column.
        """
        times: list[float] = []
        rows: list[list[float]] = [[] for _ in getters]
        nominals = nominal_intervals(self._samples)
        previous: Sample | None = None
        run = 0  # samples in the current run so far
        before = 0.0  # seconds from the current run's first sample back to the break before it
        for sample, nominal in zip(self._samples, nominals, strict=True):
            if previous is not None and is_gap(previous, sample, nominal):
                step = sample["t"] - previous["t"]
                if lone and run == 1:
                    self._widen(times, rows, lone * nominal, before, step)
                times.append((previous["t"] + sample["t"]) / 2)
                for row in rows:
                    row.append(np.nan)
                run, before = 0, step
            times.append(sample["t"])
            for row, getter in zip(rows, getters, strict=True):
                row.append(getter(sample))
            previous = sample
            run += 1
        if lone and run == 1 and previous is not None:
            self._widen(times, rows, lone * nominals[-1], before, np.inf)
        millis = np.rint(np.asarray(times, dtype=np.float64) * 1000.0).astype(np.int64)
        y = np.array(rows, dtype=np.float64).reshape(len(getters), len(times))
        return millis.astype("datetime64[ms]"), y

    @staticmethod
    def _widen(
        times: list[float], rows: list[list[float]], half: float, before: float, after: float
    ) -> None:
        """Turn the last point into a flat segment ``half`` seconds either side of it, kept
        within a quarter of the distance to each neighbouring sample (the NaN points between
        sit at half)."""
        left = min(half, before / 4) if before > 0 else half
        right = min(half, after / 4) if after > 0 else half
        t = times[-1]
        times[-1] = t - left
        times.append(t + right)
        for row in rows:
            row.append(row[-1])

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
