"""The course's measuring record and charts: what notebook 02 explains with them, and how the
charts lay their axes out.
"""

from __future__ import annotations

import numpy as np
import pytest

from iostat_widget.course import CountingProxy, Run, long_poll, naive_poll, percentiles_ms
from iostat_widget.course.charts import Y_LABEL_OFFSET, bar_chart, cdf_chart, points_chart
from iostat_widget.server import Server

from .conftest import FAST


def test_summary_says_the_unit_of_each_percentile() -> None:
    run = Run("t", duration=1.0, seqs=[1, 2], latencies=[0.010, 0.020])
    latency_keys = [key for key in run.summary() if key.startswith("p")]
    assert latency_keys == ["p50 (ms)", "p90 (ms)", "p99 (ms)"]
    assert percentiles_ms([0.01], (50,), unit=" (ms)") == {"p50 (ms)": 10.0}
    assert percentiles_ms([0.01], (50,)) == {"p50": 10.0}  # plain keys for code that reads them


def test_ages_by_place_groups_each_answer_newest_first() -> None:
    # Two answers: three samples (oldest first, as the server sends them), then one.
    run = Run("t", seqs=[1, 2, 3, 4], latencies=[0.35, 0.25, 0.15, 0.16], answers=[3, 1])
    assert run.ages_by_place() == {0: [0.15, 0.16], 1: [0.25], 2: [0.35]}
    assert run.newest_latencies == [0.15, 0.16]
    assert Run("empty").ages_by_place() == {} and Run("empty").newest_latencies == []


async def test_on_a_slow_link_long_polling_answers_carry_older_samples(server: Server) -> None:
    """Why notebook 02's after=SEQ median is later than naive polling's: per answer, the newest
    sample is as fresh as naive polling's only sample; the others waited for the same answer."""
    delay = 1.5 * FAST  # a round trip of three sample intervals
    async with CountingProxy("127.0.0.1", server.port, delay=delay) as proxy:
        naive = await naive_poll(proxy, period=FAST, duration=1.5, server=server)
        full = await long_poll(proxy, duration=1.5, server=server)
    assert naive.answers == [1] * naive.received and sum(full.answers) == full.received
    assert np.mean(full.answers) > 2  # about three samples per answer
    places = full.ages_by_place()
    newest, older = np.median(places[0]), np.median(places[1])
    assert older - newest == pytest.approx(FAST, abs=FAST / 2)  # one interval more per place
    assert newest < 2 * delay and np.median(naive.latencies) < 2 * delay
    assert np.median(full.latencies) > newest


@pytest.mark.parametrize(
    "figure",
    [
        lambda: bar_chart({"a": 1.0, "b": 2.0}, title="t", y_label="bytes"),
        lambda: cdf_chart({"a": [1.0, 2.0]}, title="t"),
        lambda: points_chart(
            {"a": ([0.0, 1.0], [10.0, 5000.0])}, title="t", x_label="x", y_label="y"
        ),
    ],
    ids=["bar", "cdf", "points"],
)
def test_left_axis_labels_sit_clear_of_their_ticks(figure: object) -> None:
    """bqplot's default offset (4ex) puts a left axis label over ticks like "5,000"."""
    made = figure()  # type: ignore[operator]
    (left,) = [axis for axis in made.axes if axis.side == "left"]
    assert left.label and left.label_offset == Y_LABEL_OFFSET
    offset = int(Y_LABEL_OFFSET.removesuffix("px"))
    assert 50 <= offset <= made.fig_margin["left"] - 14  # past 5-char ticks, inside the margin


def test_distribution_chart_keeps_a_band_above_100_percent_for_its_legend() -> None:
    """Curves may lie anywhere across a distribution chart; only the band above 100 % is free."""
    made = cdf_chart({"fast": [1.0, 2.0], "slow": [300.0, 430.0], "mid": [200.0]}, title="t")
    assert made.legend_location.startswith("top")
    y_scale = made.marks[0].scales["y"]
    assert max(float(max(mark.y)) for mark in made.marks) == 100.0
    # three entries and the box's padding: 64 px of a 290 px plot area, free above the curves
    assert y_scale.max == pytest.approx(100.0 * 290 / (290 - 64))
    (left,) = [axis for axis in made.axes if axis.side == "left"]
    assert list(left.tick_values) == [0, 20, 40, 60, 80, 100]  # no tick claims "120 %"
