"""The widget's fixed window: chart arrays, breaks at gaps, table order, bounded size."""

from __future__ import annotations

import numpy as np
import pytest

from iostat_widget.schema import Sample
from iostat_widget.sources.synthetic import synthetic_sample
from iostat_widget.widget.window import SampleWindow


def samples(seqs: list[int], t0: float = 1_800_000_000.0, step: float = 1.0) -> list[Sample]:
    return [synthetic_sample(seq, t0 + seq * step) for seq in seqs]


def test_chart_rows_are_stacked_user_and_system() -> None:
    window = SampleWindow(10)
    for sample in samples([0, 1, 2]):
        window.add(sample)
    x, y = window.chart()
    assert x.dtype == np.dtype("datetime64[ms]")
    assert y.shape == (2, 3)
    for column, sample in enumerate(samples([0, 1, 2])):
        cpu = sample["cpu"]
        assert y[0, column] == pytest.approx(cpu["us"] + cpu["sy"])
        assert y[1, column] == pytest.approx(cpu["us"])
        assert x[column] == np.datetime64(round(sample["t"] * 1000), "ms")


def test_window_is_fixed_size() -> None:
    window = SampleWindow(60)
    for sample in samples(list(range(10_000))):
        window.add(sample)
    x, y = window.chart()
    assert len(window) == 60 and x.shape == (60,) and y.shape == (2, 60)
    assert window.newest is not None and window.newest["seq"] == 9_999


def test_missing_numbers_break_the_line() -> None:
    window = SampleWindow(10)
    for sample in samples([0, 1, 5, 6]):
        window.add(sample)
    x, y = window.chart()
    assert y.shape == (2, 5)
    assert np.isnan(y[:, 2]).all() and not np.isnan(np.delete(y, 2, axis=1)).any()
    assert x[1] < x[2] < x[3]


def test_time_gap_breaks_the_line_even_when_numbers_follow() -> None:
    window = SampleWindow(10)
    first, second = samples([0, 1])
    second["t"] = first["t"] + 10.0  # server was suspended for 10 intervals
    window.add(first)
    window.add(second)
    assert np.isnan(window.chart()[1][:, 1]).all()


def test_empty_window() -> None:
    x, y = SampleWindow(5).chart()
    assert x.shape == (0,) and y.shape == (2, 0)
    assert SampleWindow(5).newest is None


def test_rows_are_newest_first_and_limited() -> None:
    window = SampleWindow(60)
    for sample in samples(list(range(20))):
        window.add(sample)
    assert [row["seq"] for row in window.rows(3)] == [19, 18, 17]


def test_window_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        SampleWindow(0)


def test_frozen_server_gets_exactly_one_break() -> None:
    # SIGSTOP for 5.5 s: the numbers follow on, and the first sample after covers 6.5 s.
    window = SampleWindow(20)
    stream = samples(list(range(6)))
    frozen = synthetic_sample(6, stream[-1]["t"] + 6.5, interval=6.5)
    after = [synthetic_sample(seq, frozen["t"] + seq - 6) for seq in range(7, 11)]
    for sample in [*stream, frozen, *after]:
        window.add(sample)
    x, y = window.chart()
    assert y.shape == (2, 12)
    breaks = np.flatnonzero(np.isnan(y[0]))
    assert breaks.tolist() == [6] and np.isnan(y[:, 6]).all()
    assert x[5] < x[6] < x[7]
