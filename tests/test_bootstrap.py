"""The tick bootstrap of a percentile ratio (benchmarks/bootstrap.py)."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.bootstrap import percentile_ratio


def ticks(
    rng: np.random.Generator, count: int, viewers: int, scale: float, jitter: float = 1.0
) -> list[list[float]]:
    """Latencies per tick: a tick-wide delay, ``jitter`` times ``scale`` on average (what makes
    ticks the unit), plus each viewer's place in the fan-out (uniform over ``scale``)."""
    return [
        list(rng.exponential(jitter * scale) + rng.uniform(0, scale, viewers)) for _ in range(count)
    ]


def test_same_servers_give_an_interval_around_one() -> None:
    rng = np.random.default_rng(1)
    same = percentile_ratio(ticks(rng, 200, 200, 10.0), ticks(rng, 200, 200, 10.0), resamples=300)
    assert same.low < 1.0 < same.high and same.high - same.low < 0.5
    assert same.ticks == (200, 200) and "95 % CI" in same.text()


def test_a_ten_percent_slower_server_is_told_apart_with_enough_ticks() -> None:
    rng = np.random.default_rng(2)
    base = ticks(rng, 400, 200, 10.0, jitter=0.05)
    slower = [[x * 1.1 for x in tick] for tick in ticks(rng, 400, 200, 10.0, jitter=0.05)]
    interval = percentile_ratio(slower, base, resamples=300)
    assert interval.low <= interval.ratio <= interval.high
    assert interval.low > 1.0  # slower, beyond what noise explains


def test_ticks_are_the_unit_not_deliveries() -> None:
    """Few ticks with many viewers each: the interval is as wide as the ticks make it, not
    as narrow as the many deliveries would suggest if each were independent."""
    rng = np.random.default_rng(3)
    few = percentile_ratio(ticks(rng, 10, 1000, 10.0), ticks(rng, 10, 1000, 10.0), resamples=300)
    many = percentile_ratio(ticks(rng, 300, 1000, 10.0), ticks(rng, 300, 1000, 10.0), resamples=300)
    assert few.high - few.low > 2 * (many.high - many.low)


def test_the_same_input_gives_the_same_interval_and_bad_input_is_refused() -> None:
    data = {1: [1.0, 2.0, 3.0], 2: [2.0, 4.0], 3: []}
    assert percentile_ratio(data, data, resamples=50) == percentile_ratio(data, data, resamples=50)
    assert percentile_ratio(data, data, resamples=50).ticks == (2, 2)  # an empty tick is none
    with pytest.raises(ValueError, match="at least one tick"):
        percentile_ratio({}, data)
    with pytest.raises(ValueError, match="no ratio"):
        percentile_ratio(data, [[0.0, 0.0]])
