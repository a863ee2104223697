"""Where the line breaks: one rule (``iostat_widget.gaps`` and ``js/samples.js``), one fixture.

Both languages read ``fixtures/gap_sequences.json`` and must find exactly its breaks, so the
widget and the page cannot drift apart again. The JS half runs ``js/samples.js`` under Node.
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import time
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest

from iostat_widget import stream
from iostat_widget.gaps import (
    GAP_INTERVALS,
    breaks,
    is_gap,
    nominal_interval,
    nominal_intervals,
)
from iostat_widget.schema import Sample
from iostat_widget.widget.window import SampleWindow, busy_percent

from .helpers import require_node, run_node
from .test_cli import start_serve

FIXTURE = Path(__file__).parent / "fixtures" / "gap_sequences.json"
SAMPLES_JS = Path(__file__).parent.parent / "js" / "samples.js"
CASES: list[dict[str, Any]] = json.loads(FIXTURE.read_text())
IDS = [case["name"] for case in CASES]


#: For every window: its breaks found through SampleWindow.runs(), and through isGap directly.
JS_BREAKS = """
const windows = JSON.parse(await new Promise((resolve) => {
  let text = "";
  process.stdin.on("data", (chunk) => (text += chunk)).on("end", () => resolve(text));
}));
const out = [];
for (const samples of windows) {
  const w = new m.SampleWindow(1000);
  const added = w.addAll(samples);
  const viaRuns = [];
  let at = 0;
  for (const run of w.runs().slice(0, -1)) viaRuns.push((at += run.length));
  const parsed = samples.map(m.parseSample);
  const nominals = m.nominalIntervals(parsed);
  const direct = [];
  for (let i = 1; i < parsed.length; i++) {
    if (m.isGap(parsed[i - 1], parsed[i], nominals[i])) direct.push(i);
  }
  out.push({ added, runs: viaRuns, direct, nominals });
}
console.log(JSON.stringify({ factor: m.GAP_INTERVALS, windows: out }));
"""


def js_breaks(windows: list[list[dict[str, Any]]]) -> dict[str, Any]:
    script = f"import * as m from {json.dumps(SAMPLES_JS.as_uri())};\n{JS_BREAKS}"
    result: dict[str, Any] = run_node(script, stdin=json.dumps(windows))
    return result


def nan_breaks(window: SampleWindow) -> list[int]:
    """The break indices a widget chart shows: sample index after each NaN column."""
    _, y = window.columns(busy_percent)
    nan_columns = np.flatnonzero(np.isnan(y[0]))
    return [int(column) - k for k, column in enumerate(nan_columns)]


# -- the fixture ---------------------------------------------------------------------------------


def test_fixture_covers_the_kinds_of_gap() -> None:
    names = set(IDS)
    assert len(names) == len(IDS)
    for required in [
        "steady_1s_with_jitter",
        "frozen_server",
        "two_freezes_in_a_row",
        "lost_sample",
        "server_restart",
        "wall_clock_stepped_back",
        "wall_clock_stepped_forward_an_hour",
        "long_idle_stop_of_sampling",
        "fast_0.1s_stream_with_pause",
        "slow_5s_stream_with_pause",
        "slightly_late_sample",
        "two_sample_window",
        "first_sample_is_the_long_one",
        "restart_at_a_slower_interval",
    ]:
        assert required in names
    for case in CASES:
        count = len(case["samples"])
        assert case["breaks"] == sorted(set(case["breaks"]))
        assert all(0 < index < count for index in case["breaks"]), case["name"]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_python_breaks_match_the_fixture(case: dict[str, Any]) -> None:
    assert breaks(case["samples"]) == case["breaks"]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_widget_chart_breaks_match_the_fixture(case: dict[str, Any]) -> None:
    window = SampleWindow(max(len(case["samples"]), 1))
    for sample in case["samples"]:
        window.add(sample)
    assert nan_breaks(window) == case["breaks"]


def test_page_breaks_match_the_same_fixture() -> None:
    result = js_breaks([case["samples"] for case in CASES])
    assert result["factor"] == GAP_INTERVALS
    for case, got in zip(CASES, result["windows"], strict=True):
        assert got["added"] == len(case["samples"]), case["name"]  # none taken for a duplicate
        assert got["runs"] == case["breaks"], case["name"]
        assert got["direct"] == case["breaks"], case["name"]
        assert got["nominals"] == nominal_intervals(case["samples"]), case["name"]


def random_window(rng: random.Random) -> list[dict[str, Any]]:
    """A window of a server's samples with rare events: pauses, losses, restarts, clock steps."""
    step = rng.choice([0.05, 0.1, 0.2, 1.0, 2.0, 5.0])
    seq, t = rng.randrange(0, 1000), 1_800_000_000.0 + rng.uniform(0, 1e6)
    window = []
    for _ in range(rng.randrange(1, 40)):
        dt = interval = step * rng.uniform(0.9, 1.1)
        event = rng.random()
        if event < 0.05:  # paused
            dt = interval = step * rng.uniform(1.5, 40)
        elif event < 0.08:  # lost samples
            skipped = rng.randrange(1, 4)
            seq += skipped
            dt += skipped * step
        elif event < 0.10:  # restarted, numbering from 0
            seq, dt = -1, rng.uniform(step, 30 * step)
        elif event < 0.12:  # wall clock stepped
            dt += rng.choice([-1, 1]) * rng.uniform(0, 100 * step)
        elif event < 0.14:  # late tick
            dt = interval = step * rng.uniform(1.0, 3.0)
        seq += 1
        t += dt
        sample = {"seq": seq, "t": round(t, 3), "interval": round(max(interval, 0.001), 3)}
        sample["cpu"] = {"us": 10.0, "sy": 5.0}
        if window and seq <= window[-1]["seq"] and sample["t"] <= window[-1]["t"]:
            continue  # the page would drop it as a replayed duplicate; keep to what both keep
        window.append(sample)
    return window


def test_page_and_widget_agree_on_random_windows() -> None:
    rng = random.Random(20260110)
    windows = [random_window(rng) for _ in range(400)]
    expected = [breaks(window) for window in windows]
    assert sum(map(len, expected)) > 50  # the windows really do contain breaks
    result = js_breaks(windows)
    for window, want, got in zip(windows, expected, result["windows"], strict=True):
        assert got["runs"] == want and got["direct"] == want, window


# -- the rule, clause by clause ----------------------------------------------------------------


def sample(seq: int, t: float, interval: float = 1.0) -> Sample:
    return cast(Sample, {"seq": seq, "t": t, "interval": interval})


def test_gap_factor_is_two_and_a_half() -> None:
    assert GAP_INTERVALS == 2.5


def test_nominal_interval_is_the_lower_median() -> None:
    assert nominal_interval([sample(0, 0, 1.0), sample(1, 6.5, 6.5)]) == 1.0
    assert nominal_interval([sample(0, 0, 6.5), sample(1, 1, 1.0)]) == 1.0
    assert nominal_interval([sample(i, i, v) for i, v in enumerate([3.0, 1.0, 2.0])]) == 2.0
    assert nominal_interval([sample(i, i, v) for i, v in enumerate([4.0, 1.0, 3.0, 2.0])]) == 2.0
    assert nominal_interval([sample(0, 0, 0.2)]) == 0.2
    many = [sample(i, i, 1.0) for i in range(10)] + [sample(10, 20, 300.0)] * 9
    assert nominal_interval(many) == 1.0  # 10 of 19 are regular


def test_nominal_interval_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="no samples"):
        nominal_interval([])


def test_each_clause_of_the_rule() -> None:
    before = sample(5, 100.0)
    assert not is_gap(before, sample(6, 101.0), 1.0)
    assert not is_gap(before, sample(6, 102.5, 2.5), 1.0)  # exactly 2.5 intervals: still a line
    assert is_gap(before, sample(7, 101.0), 1.0)  # 1. a number skipped
    assert is_gap(before, sample(0, 101.0), 1.0)  # 1. a restarted server
    assert is_gap(before, sample(6, 100.0), 1.0)  # 2. time did not move on
    assert is_gap(before, sample(6, 99.0), 1.0)  # 2. the clock stepped back
    assert is_gap(before, sample(6, 102.6), 1.0)  # 3. too long between
    assert is_gap(before, sample(6, 101.0, 2.6), 1.0)  # 4. the sample covers a pause
    assert is_gap(before, sample(6, 100.01, 0.01), 0.0)  # the nominal is floored at 1 ms
    assert not is_gap(before, sample(6, 100.002, 0.002), 0.0)


def test_breaks_of_short_windows() -> None:
    assert breaks([]) == []
    assert breaks([sample(0, 1.0)]) == []


# -- Node.js present, or the test says why not ---------------------------------------------------


def test_missing_node_skips_locally_but_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    missing = "node-that-is-not-installed"
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install -y nodejs"):
        require_node(missing)
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        require_node(missing)


# -- end to end: a real server, really frozen ---------------------------------------------------


@pytest.mark.slow
async def test_frozen_server_is_drawn_with_exactly_one_break() -> None:
    process, url = await start_serve("--interval", "0.2")
    got: list[Sample] = []
    stopped_at = resumed_at = 0.0

    async def collect() -> None:
        async for one in stream(url):
            got.append(one)

    async def until(count: int) -> None:
        while len(got) < count:
            await asyncio.sleep(0.02)

    reader = asyncio.create_task(collect())
    try:
        async with asyncio.timeout(15):
            await until(8)
            process.send_signal(signal.SIGSTOP)
            stopped_at = time.time()
            await asyncio.sleep(2.0)
            resumed_at = time.time()
            process.send_signal(signal.SIGCONT)
            await until(len(got) + 5)
    finally:
        process.send_signal(signal.SIGCONT)
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        process.terminate()
        async with asyncio.timeout(15):
            await process.communicate()

    window = SampleWindow(len(got))
    for one in got:
        window.add(one)
    assert [s["seq"] for s in got] == list(range(got[0]["seq"], got[0]["seq"] + len(got)))
    found = nan_breaks(window)
    assert len(found) == 1, [(s["t"], s["interval"]) for s in got]
    before, after = got[found[0] - 1], got[found[0]]
    assert before["t"] <= stopped_at + 0.2 and after["t"] >= resumed_at - 0.2
    assert after["interval"] >= 1.5
    assert breaks(got) == found
