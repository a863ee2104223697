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

from ..gaps import GAP_INTERVALS, MIN_NOMINAL, lower_median, nominal_intervals, pair_terms
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
        # Per sample, what the break rule weighs against the one before it that no nominal
        # interval changes (gaps.pair_terms; nothing before the first), kept from add to add so a
        # new nominal re-judges every pair at numpy speed without reading a sample again.
        self._times: deque[float] = deque(maxlen=size)
        self._broken: deque[bool] = deque(maxlen=size)
        self._steps: deque[float] = deque(maxlen=size)
        self._intervals: deque[float] = deque(maxlen=size)
        self._run_start: deque[bool] = deque(maxlen=size)  # seq went down: a new server run
        self._run_starts = 0  # how many samples but the first start a run
        self._nominals: list[float] | None = None  # nominal_intervals(), until the next add
        self._breaks: list[int] = []  # indices with a break before them, with _nominals

    def __len__(self) -> int:
        return len(self._samples)

    def add(self, sample: Sample) -> None:
        """Append one sample (the oldest falls out when the window is full)."""
        if self._samples:
            previous = self._samples[-1]
            broken, step, interval = pair_terms(previous, sample)
            starts = sample["seq"] <= previous["seq"]
        else:
            broken, step, interval, starts = False, 0.0, sample["interval"], False
        full = len(self._samples) == self.size
        self._samples.append(sample)
        self._times.append(sample["t"])
        self._broken.append(broken)
        self._steps.append(step)
        self._intervals.append(interval)
        self._run_start.append(starts)
        self._run_starts += starts
        if full:  # the new first sample's terms were against the one that fell out
            self._run_starts -= self._run_start[0]
            self._broken[0], self._steps[0], self._run_start[0] = False, 0.0, False
        self._nominals = None

    def _judge(self) -> tuple[list[float], list[int]]:
        """Each sample's nominal interval, and the indices ``i`` with a break between
        ``samples[i - 1]`` and ``samples[i]``: :func:`iostat_widget.gaps.is_gap` over the kept
        :func:`~iostat_widget.gaps.pair_terms`, with the same comparisons (NaN compares false
        in both). Cached until the next ``add``."""
        if self._nominals is None:
            n = len(self._samples)
            if self._run_starts == 0 and n:  # one server run: one nominal
                nominals = [lower_median(self._intervals)] * n
            else:
                nominals = nominal_intervals(self._samples)
            limit = GAP_INTERVALS * np.maximum(np.asarray(nominals, dtype=np.float64), MIN_NOMINAL)
            broken = np.fromiter(self._broken, dtype=bool, count=n)
            steps = np.fromiter(self._steps, dtype=np.float64, count=n)
            intervals = np.fromiter(self._intervals, dtype=np.float64, count=n)
            gap = broken | (steps > limit) | (intervals > limit)
            if n:
                gap[0] = False
            self._nominals = nominals
            self._breaks = np.flatnonzero(gap).tolist()
        return self._nominals, self._breaks

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
        nominals, _ = self._judge()
        return nominals[-1] if nominals else None

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
        nominals, breaks = self._judge()
        samples = self._samples
        if not breaks and (not lone or len(samples) != 1):  # the usual case: one unbroken run
            t = np.fromiter(self._times, np.float64, len(samples))
            values = [[getter(sample) for sample in samples] for getter in getters]
            y = np.array(values, dtype=np.float64).reshape(len(getters), len(samples))
            return np.rint(t * 1000.0).astype(np.int64).astype("datetime64[ms]"), y
        gaps = set(breaks)
        times: list[float] = []
        rows: list[list[float]] = [[] for _ in getters]
        previous: Sample | None = None
        run = 0  # samples in the current run so far
        before = 0.0  # seconds from the current run's first sample back to the break before it
        for index, (sample, nominal) in enumerate(zip(samples, nominals, strict=True)):
            if index in gaps:
                assert previous is not None
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
