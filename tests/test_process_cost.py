"""A process tree's own cost from two readings: children come and go, pids are reused, counters
never make a negative figure; and the real reader finds this process and a child of it."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from iostat_widget.sources.process_cost import (
    CostMeter,
    ProcessTimes,
    cpu_seconds,
    process_cost,
    read_tree,
)

KERNEL = (100, 1000.0)  # (pid, create time)
CHILD = (200, 1005.0)
OTHER = (300, 1006.0)


def times(
    own: float, reaped: float = 0.0, rss: float = 0.0, swap: float | None = None
) -> ProcessTimes:
    return ProcessTimes(own=own, reaped=reaped, rss=rss, swap=swap)


def test_the_kernel_alone_counts_its_own_growth() -> None:
    assert cpu_seconds({KERNEL: times(10.0)}, {KERNEL: times(10.5)}) == pytest.approx(0.5)


def test_a_live_child_counts_its_growth_with_the_kernel() -> None:
    prev = {KERNEL: times(10.0), CHILD: times(3.0)}
    cur = {KERNEL: times(10.1), CHILD: times(4.0)}
    assert cpu_seconds(prev, cur) == pytest.approx(1.1)


def test_a_child_born_since_counts_all_its_time() -> None:
    cur = {KERNEL: times(10.0), CHILD: times(0.4, reaped=0.1)}
    assert cpu_seconds({KERNEL: times(10.0)}, cur) == pytest.approx(0.5)


def test_a_reaped_child_counts_only_what_was_not_seen_before() -> None:
    # The child had 2.0 s when last read; reaped, the kernel's children counters grow by its
    # total (2.3 s): 0.3 s of it is new.
    prev = {KERNEL: times(10.0, reaped=1.0), CHILD: times(2.0)}
    cur = {KERNEL: times(10.0, reaped=3.3)}
    assert cpu_seconds(prev, cur) == pytest.approx(0.3)


def test_a_child_that_left_the_tree_unreaped_counts_nothing_never_less() -> None:
    # Orphaned (re-parented elsewhere): gone without the kernel's reaped counters growing.
    prev = {KERNEL: times(10.0), CHILD: times(50.0), OTHER: times(1.0)}
    cur = {KERNEL: times(10.2), OTHER: times(1.5)}
    assert cpu_seconds(prev, cur) == pytest.approx(0.7)


def test_a_reused_pid_is_a_new_process() -> None:
    # pid 200 ended (reaped: the kernel's counters grew by its 9.0 s total) and a new process
    # got the same pid: its 0.2 s are new, not 0.2 - 8.8.
    prev = {KERNEL: times(10.0), (200, 1005.0): times(8.8)}
    cur = {KERNEL: times(10.0, reaped=9.0), (200, 1090.0): times(0.2)}
    assert cpu_seconds(prev, cur) == pytest.approx(0.2 + 0.2)


def test_a_counter_that_went_down_counts_as_nothing() -> None:
    prev = {KERNEL: times(10.0, reaped=5.0), CHILD: times(3.0)}
    cur = {KERNEL: times(9.0, reaped=4.0), CHILD: times(3.5)}
    assert cpu_seconds(prev, cur) == pytest.approx(0.5)


def test_cost_is_a_share_of_the_machine_and_sums_memory() -> None:
    prev = {KERNEL: times(10.0), CHILD: times(1.0)}
    cur = {KERNEL: times(10.5, rss=300e6, swap=1e6), CHILD: times(3.5, rss=100e6, swap=None)}
    cost = process_cost(prev, cur, seconds=2.0, cpus=8, memory=1e9)
    assert cost["cores"] == pytest.approx(1.5)  # 3.0 CPU seconds over 2 s
    assert cost["cpu_pct"] == pytest.approx(100 * 1.5 / 8)  # 1 core = 12.5 % of 8 CPUs
    assert cost["rss_bytes"] == pytest.approx(400e6)
    assert cost["mem_pct"] == pytest.approx(40.0)
    assert cost["swap_bytes"] == pytest.approx(1e6)  # what the processes that report it have
    assert cost["processes"] == 2 and cost["cpus"] == 8


def test_no_swap_figure_where_no_process_reports_one() -> None:
    cost = process_cost({KERNEL: times(1.0)}, {KERNEL: times(1.0)}, seconds=1.0, cpus=2, memory=1)
    assert cost["swap_bytes"] is None


def test_no_time_passed_is_no_rate() -> None:
    cost = process_cost({KERNEL: times(1.0)}, {KERNEL: times(2.0)}, seconds=0.0, cpus=2, memory=1)
    assert cost["cores"] == 0.0 and cost["cpu_pct"] == 0.0


def test_the_meter_gives_a_cost_from_its_second_reading_on() -> None:
    readings = iter([{KERNEL: times(1.0)}, {KERNEL: times(1.25)}, {KERNEL: times(2.25)}])
    clock = iter([50.0, 50.5, 51.5])
    meter = CostMeter(lambda: next(readings), clock=lambda: next(clock), cpus=2, memory=100.0)
    assert meter.measure() is None
    second = meter.measure()
    assert second is not None and second["cores"] == pytest.approx(0.5)
    third = meter.measure()
    assert third is not None and third["cpu_pct"] == pytest.approx(50.0)  # 1 core of 2


def test_the_meter_skips_a_failed_reading() -> None:
    def reader() -> dict[tuple[int, float], ProcessTimes]:
        raise OSError("gone")

    meter = CostMeter(reader, clock=lambda: 1.0, cpus=1, memory=1.0)
    assert meter.measure() is None


def test_read_tree_finds_this_process_and_a_child() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        deadline = time.monotonic() + 10
        while True:
            found = read_tree()
            pids = {pid for pid, _ in found}
            if child.pid in pids or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert {os.getpid(), child.pid} <= pids
        mine = next(t for (pid, _), t in found.items() if pid == os.getpid())
        assert mine.own > 0 and mine.rss > 1e6
        if sys.platform.startswith("linux"):
            assert mine.swap is not None  # /proc says VmSwap
    finally:
        child.kill()
        child.wait()


def test_the_meter_waits_out_the_counters_granularity() -> None:
    # CPU seconds tick in 1/100 s: over a few ms one tick would read as several cores. A reading
    # sooner than min_seconds after the last one is not taken (nor read); the next is paired
    # with the last.
    readings = iter([{KERNEL: times(1.0)}, {KERNEL: times(1.5)}])
    clock = iter([0.0, 0.004, 1.0])
    meter = CostMeter(lambda: next(readings), clock=lambda: next(clock), cpus=2, memory=1.0)
    assert meter.measure() is None
    assert meter.measure() is None  # 4 ms later: too soon
    third = meter.measure()
    assert third is not None and third["cores"] == pytest.approx(0.5)


def test_never_more_cores_than_the_machine_has() -> None:
    cost = process_cost({KERNEL: times(1.0)}, {KERNEL: times(5.0)}, seconds=1.0, cpus=2, memory=1)
    assert cost["cores"] == 2.0 and cost["cpu_pct"] == 100.0


def test_a_first_figure_need_not_wait() -> None:
    readings = iter([{KERNEL: times(1.0)}, {KERNEL: times(1.01)}])
    clock = iter([0.0, 0.004])
    meter = CostMeter(lambda: next(readings), clock=lambda: next(clock), cpus=2, memory=1.0)
    assert meter.measure() is None
    soon = meter.measure(soon=True)
    assert soon is not None and soon["cores"] == 2.0  # one tick in 4 ms: capped at the machine
