"""The widget's fixed window: chart arrays, breaks at gaps, table order, bounded size."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iostat_widget.gaps import breaks, nominal_intervals
from iostat_widget.schema import Sample
from iostat_widget.sources.synthetic import synthetic_sample
from iostat_widget.widget.window import SampleWindow, busy_percent


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


def test_lone_samples_are_widened_only_when_asked() -> None:
    window = SampleWindow(10)
    first, second = samples([0, 5])  # a break between: each is a run of one
    window.add(first)
    window.add(second)
    x, y = window.columns(busy_percent)
    assert y.shape == (1, 3)  # as the gap rule sees it: sample, break, sample
    x, y = window.columns(busy_percent, lone=0.5)
    assert y.shape == (1, 5)
    assert np.isnan(y[0, 2]) and y[0, 0] == y[0, 1] == busy_percent(first)
    assert y[0, 3] == y[0, 4] == busy_percent(second)
    t = (x - np.datetime64(0, "ms")).astype(float) / 1000.0
    assert t[0] == pytest.approx(first["t"] - 0.5) and t[1] == pytest.approx(first["t"] + 0.5)
    assert t[1] < t[2] < t[3]  # the segments stop short of the break's NaN point
    assert t[3] == pytest.approx(second["t"] - 0.5) and t[4] == pytest.approx(second["t"] + 0.5)


def test_one_sample_is_a_segment_and_runs_are_left_alone() -> None:
    window = SampleWindow(1)
    for sample in samples([0, 1, 2]):
        window.add(sample)
    x, y = window.columns(busy_percent, lone=0.5)
    assert y.shape == (1, 2) and y[0, 0] == y[0, 1] and x[0] < x[1]
    window = SampleWindow(10)
    for sample in samples([0, 1, 2, 3]):
        window.add(sample)
    assert window.columns(busy_percent, lone=0.5)[1].shape == (1, 4)


def test_widened_sample_stays_clear_of_a_close_neighbour() -> None:
    window = SampleWindow(10)
    first, second = samples([0, 1])
    second["seq"] = 7  # lost samples, yet only 0.2 s apart
    second["t"] = first["t"] + 0.2
    window.add(first)
    window.add(second)
    x, _ = window.columns(busy_percent, lone=0.5)
    t = (x - np.datetime64(0, "ms")).astype(float)
    assert list(t) == sorted(t) and len(set(t)) == 5


def test_nominal_interval_is_the_newest_runs() -> None:
    window = SampleWindow(10)
    assert window.nominal() is None
    for seq in range(4):
        window.add(synthetic_sample(seq, 1_800_000_000.0 + seq, interval=1.0))
    assert window.nominal() == 1.0
    window.add(synthetic_sample(7, 1_800_000_004.0, interval=6.5))  # one late sample
    assert window.nominal() == 1.0
    for seq in range(3):  # a restarted server, sampling every 0.5 s
        window.add(synthetic_sample(seq, 1_800_000_010.0 + seq / 2, interval=0.5))
    assert window.nominal() == 0.5


@settings(max_examples=300, deadline=None)
@given(
    size=st.integers(1, 12),
    steps=st.lists(
        st.tuples(
            st.sampled_from([1, 1, 1, 1, 2, -5, 0]),  # next seq - seq: mostly consecutive
            st.sampled_from([1.0, 1.0, 0.999, 1.002, 3.0, 0.0, -2.0, 0.5]),  # t step
            st.sampled_from([1.0, 1.0, 1.001, 0.998, 2.0, 6.5, 0.0005, 0.3]),  # interval
        ),
        min_size=1,
        max_size=40,
    ),
)
def test_breaks_kept_from_add_to_add_are_the_rules_breaks(
    size: int, steps: list[tuple[int, float, float]]
) -> None:
    # The window keeps each pair's terms and re-judges them when the nominal changes; whatever
    # came and went, its breaks and nominals are gaps.breaks and gaps.nominal_intervals of what
    # it holds now.
    window = SampleWindow(size)
    seq, t = 100, 1_800_000_000.0
    for seq_step, t_step, interval in steps:
        seq, t = max(seq + seq_step, 0), t + t_step
        sample = synthetic_sample(seq, t, interval=interval)
        sample["t"] = t  # unrounded: steps of 0.999 s stay what they are
        window.add(sample)
        held = list(window.rows(size))[::-1]
        assert window._judge() == (nominal_intervals(held), breaks(held))
        assert window.nominal() == nominal_intervals(held)[-1]
