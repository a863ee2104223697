"""Where a chart's line must break: the one rule, shared with the page's ``js/samples.js``.

A window is a sequence of samples in arrival order; a *run* is a stretch of it from one server
run, which ends where ``seq`` goes down (a restarted server numbers from 0, perhaps at another
interval). A run's *nominal interval* is what its server was asked for: the lower median of its
samples' ``interval`` fields (seconds), so one late sample, however long, cannot stretch the
yardstick it is judged by. Between consecutive samples ``prev`` and ``next`` there is a break
when any of these holds, ``nominal`` being that of ``next``'s run:

1. ``next.seq != prev.seq + 1``: samples were lost, or a restarted server numbers from 0 again;
2. ``next.t <= prev.t``: the wall clock stepped back, or a restart;
3. ``next.t - prev.t > GAP_INTERVALS * nominal``: too long between the two;
4. ``next.interval > GAP_INTERVALS * nominal``: the sample's rates cover a stretch the server
   could not sample (a frozen process, ``docker pause``, a suspended machine), even when ``t``
   alone does not show it.

``nominal`` is floored at :data:`MIN_NOMINAL` seconds. ``js/samples.js`` implements exactly this
(``GAP_INTERVALS``, ``nominalInterval``, ``isGap``), and both are tested against the same
sequences in ``tests/fixtures/gap_sequences.json``. Pure: no numpy, no asyncio.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from .schema import Sample

__all__ = [
    "GAP_INTERVALS",
    "MIN_NOMINAL",
    "breaks",
    "is_gap",
    "lower_median",
    "nominal_interval",
    "nominal_intervals",
    "pair_terms",
]

#: Consecutive samples further apart than this many nominal intervals have a break between them.
GAP_INTERVALS: Final = 2.5
#: Seconds; the least nominal interval a gap is judged against.
MIN_NOMINAL: Final = 1e-3


def nominal_interval(samples: Sequence[Sample]) -> float:
    """The window's nominal interval in seconds: the lower median of its ``interval`` values.

    Sorted ascending, the element at index ``(n - 1) // 2``, floored at :data:`MIN_NOMINAL`: a
    late sample is rare, so the median is what the server was asked for, and the lower median
    makes a two-sample window ``[1.0, 6.5]`` give ``1.0``. Raises ``ValueError`` for an empty
    sequence (no samples, no interval).
    """
    if not samples:
        raise ValueError("nominal interval of no samples")
    return lower_median([sample["interval"] for sample in samples])


def lower_median(intervals: Iterable[float]) -> float:
    """The nominal interval of a run from its samples' ``interval`` values (seconds): sorted
    ascending, the element at index ``(n - 1) // 2``, floored at :data:`MIN_NOMINAL`. Raises
    ``ValueError`` for none."""
    ordered = sorted(intervals)
    if not ordered:
        raise ValueError("nominal interval of no samples")
    return max(ordered[(len(ordered) - 1) // 2], MIN_NOMINAL)


def pair_terms(prev: Sample, next: Sample) -> tuple[bool, float, float]:
    """What :func:`is_gap` weighs between ``prev`` and ``next`` besides the nominal interval:
    whether clause 1 or 2 holds, and the two spans clauses 3 and 4 compare with
    ``GAP_INTERVALS * nominal``: ``next.t - prev.t`` and ``next.interval`` (seconds). A window
    keeps these per pair, so a new nominal re-judges pairs without reading samples again."""
    return (
        next["seq"] != prev["seq"] + 1 or next["t"] <= prev["t"],
        next["t"] - prev["t"],
        next["interval"],
    )


def is_gap(prev: Sample, next: Sample, nominal: float) -> bool:
    """True when a chart must break between ``prev`` and the sample after it, ``next``.

    ``nominal`` (seconds, floored at :data:`MIN_NOMINAL`) is that of ``next``'s run
    (:func:`nominal_intervals`); see the module docstring for the four clauses.
    """
    broken, step, interval = pair_terms(prev, next)
    limit = GAP_INTERVALS * max(nominal, MIN_NOMINAL)
    return broken or step > limit or interval > limit


def nominal_intervals(samples: Sequence[Sample]) -> list[float]:
    """The nominal interval each sample is judged by: that of its run (a stretch from one
    server run, ended where ``seq`` goes down), as :func:`nominal_interval` computes it."""
    ordered = list(samples)  # a deque does not slice
    nominals: list[float] = []
    start = 0
    for end in range(1, len(ordered) + 1):
        if end == len(ordered) or ordered[end]["seq"] <= ordered[end - 1]["seq"]:
            nominals += [nominal_interval(ordered[start:end])] * (end - start)
            start = end
    return nominals


def breaks(samples: Sequence[Sample]) -> list[int]:
    """Indices ``i`` (ascending, ``0 < i < len(samples)``) with a break between ``samples[i - 1]``
    and ``samples[i]``, each judged against the nominal interval of ``samples[i]``'s run."""
    nominals = nominal_intervals(samples)
    return [i for i in range(1, len(samples)) if is_gap(samples[i - 1], samples[i], nominals[i])]
