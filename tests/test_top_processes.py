"""Who is busy: the top processes by CPU from two readings of every process's counters."""

from __future__ import annotations

import os

import pytest

from iostat_widget.sources.top_processes import ProcSnapshot, TopSampler, read_processes, top_rows


def snap(pid: int, cpu: float, rss: float = 1e6, born: float = 0.0) -> ProcSnapshot:
    return ProcSnapshot(pid=pid, create_time=born, name=f"p{pid}", user="ann", cpu=cpu, rss=rss)


def reading(*snaps: ProcSnapshot) -> dict[tuple[int, float], ProcSnapshot]:
    return {(s.pid, s.create_time): s for s in snaps}


def test_rows_are_cpu_deltas_over_the_interval_busiest_first() -> None:
    prev = reading(snap(1, 10.0), snap(2, 5.0), snap(3, 7.0))
    cur = reading(snap(1, 10.5), snap(2, 7.0), snap(3, 7.0, rss=9e6))
    rows = top_rows(prev, cur, seconds=2.0, n=2)
    assert [(r["pid"], r["cpu_pct"]) for r in rows] == [(2, 100.0), (1, 25.0)]  # 100 = one core
    assert rows[0] == {"pid": 2, "name": "p2", "user": "ann", "cpu_pct": 100.0, "rss_bytes": 1e6}


def test_a_process_born_since_counts_all_its_time_and_a_reused_pid_is_new() -> None:
    prev = reading(snap(1, 10.0), snap(7, 50.0, born=100.0))
    cur = reading(snap(1, 10.0), snap(7, 0.5, born=160.0), snap(8, 0.25, born=161.0))
    rows = top_rows(prev, cur, seconds=1.0, n=5)
    assert [(r["pid"], r["cpu_pct"]) for r in rows] == [(7, 50.0), (8, 25.0), (1, 0.0)]


def test_a_counter_that_went_down_is_no_cpu_and_no_time_is_no_rate() -> None:
    prev, cur = reading(snap(1, 10.0)), reading(snap(1, 9.0))
    assert top_rows(prev, cur, seconds=1.0, n=1)[0]["cpu_pct"] == 0.0
    assert top_rows(reading(snap(1, 1.0)), reading(snap(1, 2.0)), 0.0, 1)[0]["cpu_pct"] == 0.0


def test_the_sampler_answers_from_its_second_reading_on() -> None:
    readings = iter([reading(snap(1, 1.0)), reading(snap(1, 1.5))])
    clock = iter([10.0, 11.0])
    sampler = TopSampler(lambda: next(readings), clock=lambda: next(clock))
    assert sampler.top(5) == []
    assert sampler.top(5) == [
        {"pid": 1, "name": "p1", "user": "ann", "cpu_pct": 50.0, "rss_bytes": 1e6}
    ]


def test_read_processes_sees_this_process() -> None:
    found = read_processes()
    mine = [s for (pid, _), s in found.items() if pid == os.getpid()]
    assert len(mine) == 1 and mine[0].cpu > 0 and mine[0].rss > 1e6 and mine[0].user
    assert len(found) > 1


@pytest.mark.parametrize("n", [0, -1])
def test_no_rows_asked_is_no_rows(n: int) -> None:
    assert top_rows(reading(snap(1, 1.0)), reading(snap(1, 2.0)), 1.0, n) == []
