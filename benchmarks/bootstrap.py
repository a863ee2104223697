"""Confidence intervals for a ratio of percentiles, by resampling whole ticks.

The latencies of one tick are not independent: every viewer's delivery of a sample waits behind
the same fan-out, and one slow tick (a page fault, another process on the core) moves all of them
together. So the unit resampled is the tick, not the delivery (a cluster bootstrap): each of
``resamples`` rounds draws as many ticks as were measured, with replacement, from each server's
ticks, pools their deliveries, and takes the ratio of the two percentiles. The interval is the
2.5th and 97.5th percentile of those ratios (the percentile method). Pure numpy, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["RatioInterval", "percentile_ratio"]

Ticks = Mapping[int, Sequence[float]] | Sequence[Sequence[float]]


@dataclass(frozen=True)
class RatioInterval:
    """``ratio`` = percentile of ``value`` ticks / percentile of ``baseline`` ticks, with the
    bootstrap's ``low`` and ``high`` bounds (``level``, e.g. 0.95) over ``resamples`` rounds."""

    ratio: float
    low: float
    high: float
    level: float
    resamples: int
    ticks: tuple[int, int]  #: ticks of the value and of the baseline

    def text(self) -> str:
        """e.g. ``1.020x (95 % CI 0.970-1.080, 200/200 ticks)`` (with a times sign, en dash)."""
        return (
            f"{self.ratio:.3f}× ({self.level * 100:g} % CI {self.low:.3f}–{self.high:.3f}, "  # noqa: RUF001
            f"{self.ticks[0]}/{self.ticks[1]} ticks)"
        )


def _arrays(ticks: Ticks) -> list[npt.NDArray[np.float64]]:
    groups = ticks.values() if isinstance(ticks, Mapping) else ticks
    return [np.asarray(group, dtype=np.float64) for group in groups if len(group)]


def _pooled(groups: list[npt.NDArray[np.float64]], picks: npt.NDArray[np.int64], q: float) -> float:
    return float(np.percentile(np.concatenate([groups[i] for i in picks]), q))


def percentile_ratio(
    value: Ticks,
    baseline: Ticks,
    q: float = 99.0,
    *,
    resamples: int = 1000,
    level: float = 0.95,
    seed: int = 6455,
) -> RatioInterval:
    """The ratio of the ``q``-th percentiles of ``value``'s and ``baseline``'s deliveries, each
    given as one group of latencies per tick (a mapping from tick number, or a sequence), with
    its bootstrap interval. Seeded: the same input gives the same interval.

    Raises:
        ValueError: a side with no latencies, or a baseline percentile of 0 or less.
    """
    a, b = _arrays(value), _arrays(baseline)
    if not a or not b:
        raise ValueError("each side needs at least one tick with latencies")
    everything = np.arange(len(a)), np.arange(len(b))
    top = _pooled(b, everything[1], q)
    if top <= 0:
        raise ValueError(f"the baseline's percentile is {top}: no ratio")
    ratio = _pooled(a, everything[0], q) / top
    rng = np.random.default_rng(seed)
    ratios = np.empty(resamples)
    for k in range(resamples):
        picks_a = rng.integers(0, len(a), len(a))
        picks_b = rng.integers(0, len(b), len(b))
        ratios[k] = _pooled(a, picks_a, q) / max(_pooled(b, picks_b, q), 1e-12)
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(ratios, [tail, 100 - tail])
    return RatioInterval(ratio, float(low), float(high), level, resamples, (len(a), len(b)))
