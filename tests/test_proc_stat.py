"""Per-CPU times from /proc/stat: parsing, and CPUs going offline and online between readings."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from iostat_widget.schema import validate_sample
from iostat_widget.sources.proc_stat import parse_proc_stat, per_cpu_percent, read_cpu_times
from iostat_widget.sources.psutil_sampler import PsutilSampler

from .machine_shapes import CpuTimes, FakeCounters, touch

HZ = 100


def stat_text(cpus: dict[str, tuple[int, int, int]], summed_idle: int) -> str:
    """/proc/stat with ``cpuN`` lines of (user, system, idle) ticks and the summed first line,
    whose idle is given: the kernel's sum can disagree with the lines when a CPU is offline."""
    user = sum(u for u, _, _ in cpus.values())
    system = sum(s for _, s, _ in cpus.values())
    lines = [f"cpu  {user} 0 {system} {summed_idle} 0 0 0 0 0 0"]
    lines += [f"{name} {u} 0 {s} {i} 0 0 0 0 0 0" for name, (u, s, i) in cpus.items()]
    lines += ["intr 12345 0 0", "ctxt 99", "btime 1800000000", "processes 7"]
    return "\n".join(lines) + "\n"


def test_parse_keeps_each_cpu_line_in_seconds() -> None:
    text = stat_text({"cpu0": (100, 50, 1000), "cpu1": (200, 0, 900)}, 1900)
    cpus = parse_proc_stat(text, HZ)
    assert set(cpus) == {"cpu0", "cpu1"}
    assert cpus["cpu0"]["user"] == 1.0 and cpus["cpu0"]["system"] == 0.5
    assert cpus["cpu1"]["idle"] == 9.0 and cpus["cpu1"]["guest_nice"] == 0.0


def test_parse_skips_lines_that_are_not_cpu_counters() -> None:
    text = "cpu  1 2 3 4\ncpuX 1 2 3 4\ncpu0 1 2\ncpu1 1 2 three 4\ncpu2 1 0 1 8\n"
    assert parse_proc_stat(text, HZ) == {
        "cpu2": {"user": 0.01, "nice": 0.0, "system": 0.01, "idle": 0.08}
    }


def test_read_returns_none_without_the_file(tmp_path: Path) -> None:
    assert read_cpu_times(tmp_path) is None
    assert read_cpu_times(Path("/")) is not None  # this machine has one


def test_a_cpu_back_online_restarts_its_idle_count() -> None:
    before = {"cpu0": {"user": 10.0, "idle": 100.0}, "cpu1": {"user": 5.0, "idle": 100.0}}
    after = {"cpu0": {"user": 10.5, "idle": 100.5}, "cpu1": {"user": 5.5, "idle": 0.5}}
    # cpu1's idle restarted from 0 and has counted 0.5 s since: the machine was half busy.
    assert per_cpu_percent(before, after)["us"] == pytest.approx(50.0)


class ProcStat:
    """A fixture /proc/stat the test rewrites between readings, and the psutil-shaped sum."""

    def __init__(self, root: Path, fake: FakeCounters) -> None:
        self.root, self.fake = root, fake

    def write(self, cpus: dict[str, tuple[int, int, int]], summed_idle: int) -> None:
        touch(self.root / "proc/stat", stat_text(cpus, summed_idle))
        user = sum(u for u, _, _ in cpus.values())  # what psutil's cpu_times() would sum
        system = sum(s for _, s, _ in cpus.values())
        self.fake.cpu = CpuTimes(user=user / HZ, system=system / HZ, idle=summed_idle / HZ)


def test_a_cpu_going_offline_and_back_changes_no_share(tmp_path: Path) -> None:
    fake = FakeCounters(cpus=2)
    stat = ProcStat(tmp_path, fake)
    clock = itertools.count(1_800_000_000.0, 1.0)
    sampler = PsutilSampler(clock=lambda: next(clock), root=tmp_path, environ={}, counters=fake)
    stat.write({"cpu0": (1000, 0, 9000), "cpu1": (1000, 0, 9000)}, 18_000)
    sampler.prime()
    # cpu1 goes offline: its line goes, and the summed idle falls back (the kernel now sums an
    # older idle counter of it). cpu0 was busy half of the second.
    stat.write({"cpu0": (1050, 0, 9050)}, 9050 + 3000)
    first = validate_sample(sampler.sample(0))
    assert first["cpu"]["us"] == 50  # the summed line read 100 % busy
    # cpu1 is back: its idle count restarted from 0; cpu0 busy a quarter of the second.
    stat.write({"cpu0": (1075, 0, 9125), "cpu1": (1000, 0, 40)}, 9125 + 40)
    second = validate_sample(sampler.sample(1))
    assert second["cpu"]["us"] == 25
    stat.write({"cpu0": (1175, 0, 9125), "cpu1": (1000, 0, 140)}, 9125 + 140)
    third = validate_sample(sampler.sample(2))
    assert third["cpu"]["us"] == 50 and third["cpu"]["id"] == 50  # both counted again


def test_a_field_stepping_back_a_tick_is_no_time() -> None:
    # The kernel documents that iowait can go down; NO_HZ idle can too.
    before = {"cpu0": {"user": 100.0, "idle": 300.0, "iowait": 300.0}}
    after = {"cpu0": {"user": 100.5, "idle": 300.5, "iowait": 299.99}}
    shares = per_cpu_percent(before, after)
    assert shares["us"] == pytest.approx(50.0) and shares["wa"] == 0.0
    busy = {"cpu0": {"user": 101.0, "idle": 299.99, "iowait": 300.0}}
    assert per_cpu_percent(before, busy)["us"] == pytest.approx(100.0)
