"""A reference nobody here wrote: the samplers against sysstat's ``iostat`` and procps' ``vmstat``.

Every other test checks the package against numbers the package's authors chose. This one runs
the system's own tools side by side with the psutil sampler on this machine for about 16 s,
while it loads the machine (CPU-bound processes on half the CPUs for 5 s, then ``dd`` writing
128 MiB with ``O_DIRECT``), and checks that the numbers agree second by second:

- ``iostat -t -c -d -k 1`` and ``vmstat -n -t 1`` run raw; their output is parsed here, by the
  test's own few lines, not by the package's parsers, so a mistake shared by the sampler and a
  parser cannot hide;
- the package's ``--source iostat`` and ``--source vmstat`` samplers (built as ``serve`` builds
  them) run too, and their samples are held against the psutil sampler's.

Without ``iostat`` or ``vmstat`` the tests skip, saying what to install; under CI (``CI`` set)
they fail instead, as the browser tests do without Chromium.

**Matching.** All the tools start together, and the psutil sampler is primed right after, then
sampled once per second on a steady schedule: every source reads the kernel's counters at the
same phase (a few tens of milliseconds apart, from starting the processes), so each reference
report (timed by its arrival, and checked against its own timestamp) is paired with the psutil
sample nearest in time, and both cover nearly the same second. The load starts and stops half
way between two ticks, so that no edge falls near a second's boundary. The phase matters on a
shared machine: half a second off, other processes' bursts made the median differ by 4 points.

**Disks.** iostat lists whole devices (no partitions without ``-p``); the reference total adds
those that are physical, i.e. whose ``/sys/block/NAME`` is not under ``/devices/virtual/``
(loop, zram, dm-*, md* are virtual: their traffic is either not a disk's or also counted on the
disk below). Bytes are ``kB_wrtn`` (the interval's amount) times 1024. dd writes in pytest's
temp dir, or in the repository where that is in memory (tmpfs). psutil's and iostat's
totals are compared over the same seconds; each against dd's 128 MiB over the seconds dd ran in.

**Thresholds** (the constants below), from runs on a 2-core VM, idle and while other processes
spun, burst, forked or wrote: median |psutil - reference| was at most 0.3 points (iostat) and
1.0 (vmstat, whole percents) for busy and us, the largest single second 1.9; bytes agreed within
1.5 % and within 0.1 % of dd's. 5 points and 15 % leave room for busier and bigger machines, and
still fail a sampler that counts half the CPUs (50 points off on a loaded second), or doubles or
halves the bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil
import pytest

from iostat_widget.schema import Sample
from iostat_widget.sources.command_sampler import CommandSampler, command_sampler
from iostat_widget.sources.psutil_sampler import PsutilSampler

from .helpers import unavailable

TICKS = 15  # psutil samples (seconds) compared; the whole measurement takes about TICKS + 2 s
BUSY_AT, BUSY_FOR = 3.5, 5.0  # the CPU-bound children spin from tick 3.5 for 5 s
CPUS = psutil.cpu_count() or 1  # as /proc/stat, iostat and vmstat count them
# Half the CPUs busy (one of 2 here), so that a sampler counting half the CPUs is ~50 points off
# on any machine; at most 8 children, so a big machine is only a quarter or less busy.
BUSY_CHILDREN = max(1, min(CPUS // 2, 8))
DD_AT, DD_MIB = 10.5, 128  # dd starts at tick 10.5 and writes this many MiB
MATCH = 0.45  # s: a report and a sample further apart than this are not the same second
MAX_PHASE = 0.25  # s: median distance allowed between a source's reports and psutil's ticks
MIN_PAIRS = TICKS - 3  # seconds each reference must pair with psutil
MIN_LOADED = 3  # whole seconds inside the CPU load each reference must cover
LOADED_BUSY = 0.8 * 100 * BUSY_CHILDREN / CPUS  # % busy a reference shows on a loaded second
# Per-second CPU: the median of |psutil - reference| over the seconds, in percentage points of
# the machine, for busy (us + sy) and for us; both over all paired seconds and over the loaded
# ones (where a sampler counting half the CPUs would be 50 points off).
CPU_POINTS = 5.0
BYTES_SHARE = 0.15  # bytes written over the window: within 15 % of the reference and of dd's
MIB = 1024 * 1024
POLL = 0.01  # s between looks at the command samplers' new readings

SOURCES = ("iostat", "vmstat", "source iostat", "source vmstat")
_ENV = {"LC_ALL": "C", "S_COLORS": "never", "S_TIME_FORMAT": "ISO", "TZ": "UTC"}
_BUSY_CODE = (
    "import sys, time\n"
    "print('go', flush=True)\n"
    "end = time.monotonic() + float(sys.argv[1])\n"
    "while time.monotonic() < end:\n"
    "    pass\n"
)


def require_programs(programs: Mapping[str, str]) -> None:
    """Skips the test when a program (name: Debian package) is not on ``PATH``, or fails it
    when ``CI`` is set (:func:`~tests.helpers.unavailable`)."""
    missing = {name: package for name, package in programs.items() if not shutil.which(name)}
    if not missing:
        return
    packages = " ".join(sorted(set(missing.values())))
    message = (
        f"{', '.join(missing)} not found; install {packages} "
        f"(`apt-get install -y {packages}`, or run `bash scripts/test.sh`)"
    )
    unavailable(message, "the reference test")


# -- one second of one source ---------------------------------------------------------------------
@dataclass(frozen=True)
class Point:
    """One source's figures for the second ending at ``t`` (epoch s, when it was read/arrived)."""

    t: float
    us: float
    sy: float
    written: float | None = None  # bytes written over the second; None: the source has none
    stamp: float | None = None  # the report's own timestamp (whole seconds), where it has one
    scope: str = "host"  # a sample's: "container" when psutil reads a limited cgroup's CPU

    @property
    def busy(self) -> float:
        return self.us + self.sy


def _from_sample(sample: Sample) -> Point:
    cpu, disk = sample["cpu"], sample["disk"]
    written = disk["write_bps"] * sample["interval"]
    return Point(sample["t"], cpu["us"], cpu["sy"], written, scope=sample.get("scope", "host"))


# -- the references' output, parsed here -----------------------------------------------------------
def physical_disk(name: str, sys_block: Path = Path("/sys/block")) -> bool:
    """A whole disk of its own: listed in /sys/block and not a virtual (loop, zram, dm, md) one."""
    entry = sys_block / name.replace("/", "!")
    return entry.exists() and "/devices/virtual/" not in str(entry.resolve())


def parse_iostat(lines: Sequence[tuple[float, str]]) -> list[Point]:
    """``iostat -t -c -d -k`` (``S_TIME_FORMAT=ISO``) as points, since-boot report left out.

    Each report is: its ISO timestamp, ``avg-cpu:`` and its values, ``Device`` and one row per
    device, a blank line. ``t`` is the arrival of the CPU values line.
    """
    points: list[Point] = []
    stamp = arrived = None
    cpu: dict[str, float] | None = None
    columns: list[str] | None = None
    cpu_columns: list[str] | None = None
    written = 0.0

    def finish() -> None:
        nonlocal cpu, columns, written
        if cpu is not None and arrived is not None:
            us, sy = cpu["user"] + cpu["nice"], cpu["system"]
            points.append(Point(arrived, us, sy, written * 1024, stamp))
        cpu, columns, written = None, None, 0.0

    for at, line in lines:
        tokens = line.split()
        if not tokens:
            if columns is not None:
                finish()
            continue
        if re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}", tokens[0]):
            stamp = datetime.strptime(tokens[0], "%Y-%m-%dT%H:%M:%S%z").timestamp()
        elif tokens[0] == "avg-cpu:":
            cpu_columns = [name.lstrip("%") for name in tokens[1:]]
        elif cpu_columns is not None:
            cpu = dict(zip(cpu_columns, map(float, tokens), strict=True))
            cpu_columns, arrived = None, at
        elif tokens[0] in ("Device", "Device:"):  # "Device:" before sysstat 11
            columns = tokens[1:]
        elif columns is not None:
            row = dict(zip(columns, map(float, tokens[1:]), strict=True))
            if physical_disk(tokens[0]):
                written += row["kB_wrtn"] if "kB_wrtn" in row else row["kB_wrtn/s"]
    if columns is not None:
        finish()
    return points[1:]  # the first report is the average since boot


def parse_vmstat(lines: Sequence[tuple[float, str]]) -> list[Point]:
    """``vmstat -n -t`` (``TZ=UTC``) as points, since-boot line left out; ``t`` = arrival."""
    points: list[Point] = []
    columns: list[str] | None = None
    for at, line in lines:
        tokens = line.split()
        if tokens[:1] == ["r"]:
            columns = [name for name in tokens if name.islower()]  # the timezone's is not
        elif columns is not None and tokens and tokens[0].isdigit():
            row = dict(zip(columns, map(float, tokens), strict=False))
            stamp = datetime.fromisoformat(f"{tokens[-2]}T{tokens[-1]}+00:00").timestamp()
            # procps >= 4.0.4 prints guest time as gu, outside us; older ones count it in us.
            points.append(Point(at, row["us"] + row.get("gu", 0.0), row["sy"], None, stamp))
    return points[1:]  # the first line is the average since boot


# -- the disk under the dd file ------------------------------------------------------------------
def filesystem_type(path: Path) -> str:
    """The type of the file system holding ``path`` (``ext4``, ``tmpfs``...), from mountinfo."""
    best, kind = "", ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            fields = line.split()
            mount_point, kind_here = fields[4], fields[fields.index("-") + 1]
            inside = f"{path}/".startswith(mount_point.rstrip("/") + "/")
            if inside and len(mount_point) >= len(best):
                best, kind = mount_point, kind_here
    return kind


def physical_sectors_written() -> dict[str, int]:
    """Sectors (512 B) written so far on each physical disk, from /proc/diskstats."""
    written = {}
    for line in Path("/proc/diskstats").read_text().splitlines():
        fields = line.split()
        if physical_disk(fields[2]):
            written[fields[2]] = int(fields[9])
    return written


@contextlib.contextmanager
def on_a_disk(tmp: Path) -> Iterator[Path]:
    """``tmp``, or where ``/tmp`` is in memory, a temp dir in the repository (removed after)."""
    if filesystem_type(tmp) not in ("tmpfs", "ramfs"):
        yield tmp
        return
    with tempfile.TemporaryDirectory(dir=Path(__file__).parents[1], prefix=".reference-") as dd:
        yield Path(dd)


# -- the run -------------------------------------------------------------------------------------
@dataclass
class Run:
    """Everything one measurement saw."""

    points: dict[str, list[Point]] = field(default_factory=dict)
    busy: tuple[float, float] = (0.0, 0.0)  # when the CPU-bound children spun (epoch s)
    dd_flag: str = ""
    dd_bytes: int = DD_MIB * MIB
    dd_ran: tuple[float, float] = (0.0, 0.0)  # from dd's start to its exit (epoch s)
    filesystem: str = ""  # the type of the one holding dd's file
    disks_written: dict[str, int] = field(default_factory=dict)  # bytes per disk while dd ran
    notes: list[str] = field(default_factory=list)


async def _read_lines(process: asyncio.subprocess.Process, out: list[tuple[float, str]]) -> None:
    assert process.stdout is not None
    while line := await process.stdout.readline():
        out.append((time.time(), line.decode(errors="replace")))


async def _spawn(argv: Sequence[str], **kwargs: Any) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        start_new_session=True,  # a group of its own: killed with whatever it started
        **kwargs,
    )


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    await asyncio.wait_for(process.wait(), 5)


async def _dd(run: Run, directory: Path) -> None:
    """Write ``DD_MIB`` MiB that must reach the disk: O_DIRECT, or O_DSYNC where refused."""
    target = directory / "dd.bin"
    before = physical_sectors_written()
    for flag in ("oflag=direct", "oflag=dsync"):
        argv = ["dd", "if=/dev/zero", f"of={target}", "bs=1M", f"count={DD_MIB}", flag]
        began = time.time()
        dd = await _spawn(argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        try:
            _, err = await asyncio.wait_for(dd.communicate(), 20)
        finally:
            await _stop(dd)
        if dd.returncode == 0:
            run.dd_flag, run.dd_ran = flag, (began, time.time())
            break
        run.notes.append(f"dd {flag} failed: {err.decode(errors='replace').strip()}")
        target.unlink(missing_ok=True)
    else:
        pytest.fail("dd could not write: " + "; ".join(run.notes))
    after = physical_sectors_written()
    run.disks_written = {disk: 512 * (after[disk] - before.get(disk, 0)) for disk in after}
    target.unlink(missing_ok=True)


async def _load(run: Run, t0: float, directory: Path) -> None:
    """The load: CPU-bound children for ``BUSY_FOR`` s from ``BUSY_AT``, then dd at ``DD_AT``."""
    await asyncio.sleep(t0 + BUSY_AT - time.monotonic())
    argv = [sys.executable, "-c", _BUSY_CODE, str(BUSY_FOR)]
    children: list[asyncio.subprocess.Process] = []
    try:
        for _ in range(BUSY_CHILDREN):
            children.append(await _spawn(argv, stdout=asyncio.subprocess.PIPE))
        for child in children:  # each says "go" as it starts spinning
            assert child.stdout is not None
            await asyncio.wait_for(child.stdout.readline(), 5)
        began = time.time()
        await asyncio.wait_for(asyncio.gather(*(child.wait() for child in children)), BUSY_FOR + 5)
        run.busy = (began, time.time())
    finally:
        for child in children:
            await _stop(child)
    await asyncio.sleep(t0 + DD_AT - time.monotonic())
    await _dd(run, directory)


async def measure(directory: Path) -> Run:
    """About ``TICKS`` + 2 seconds of every source side by side while the load runs."""
    run = Run(filesystem=filesystem_type(directory))
    raw: dict[str, list[tuple[float, str]]] = {"iostat": [], "vmstat": []}
    argvs = {
        "iostat": ["iostat", "-t", "-c", "-d", "-k", "1"],
        "vmstat": ["vmstat", "-n", "-t", "1"],
    }
    processes: list[asyncio.subprocess.Process] = []
    tasks: list[asyncio.Task[None]] = []
    samplers: dict[str, CommandSampler] = {
        "source iostat": command_sampler("iostat", interval=1.0),
        "source vmstat": command_sampler("vmstat", interval=1.0),
    }
    points: dict[str, list[Point]] = {name: [] for name in ("psutil", *samplers)}
    try:
        for name, argv in argvs.items():
            env = {**os.environ, **_ENV}
            process = await _spawn(argv, stdout=asyncio.subprocess.PIPE, env=env)
            processes.append(process)
            tasks.append(asyncio.create_task(_read_lines(process, raw[name])))
        for sampler in samplers.values():
            sampler.prime()  # starts its child, as the server's start does
        psutil_sampler = PsutilSampler()
        psutil_sampler.prime()
        t0 = time.monotonic()
        load = asyncio.create_task(_load(run, t0, directory))
        tasks.append(load)
        seen = dict.fromkeys(samplers, 0)
        seq = 0
        while (now := time.monotonic()) < t0 + TICKS + 0.5:  # the last reports come after a tick
            if seq < TICKS and now >= t0 + seq + 1:
                seq += 1
                points["psutil"].append(_from_sample(psutil_sampler.sample(seq)))
            for name, sampler in samplers.items():
                if sampler.readings != seen[name]:
                    seen[name] = sampler.readings
                    points[name].append(_from_sample(sampler.sample(seen[name])))
            if load.done():
                load.result()  # raises what went wrong with the load at once
            await asyncio.sleep(min(POLL, max(t0 + seq + 1 - time.monotonic(), 0.0)))
        await asyncio.wait_for(load, 30)
    finally:
        for process in processes:
            await _stop(process)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for sampler in samplers.values():
            await sampler.aclose()
    run.points = {
        **points,
        "iostat": parse_iostat(raw["iostat"]),
        "vmstat": parse_vmstat(raw["vmstat"]),
    }
    return run


# -- comparing ----------------------------------------------------------------------------------
def pairs(run: Run, source: str) -> list[tuple[Point, Point]]:
    """(psutil, reference) for each of ``source``'s seconds that has a psutil sample near it."""
    found: dict[float, tuple[Point, Point]] = {}
    psutil_points = run.points["psutil"]
    for ref in run.points[source]:
        if not psutil_points:
            break
        near = min(psutil_points, key=lambda p: abs(p.t - ref.t))
        if abs(near.t - ref.t) <= MATCH and near.t not in found:
            found[near.t] = (near, ref)
    return list(found.values())


def loaded(run: Run, point: Point) -> bool:
    """Whether the second ending at ``point.t`` lies wholly inside the CPU load."""
    start, end = run.busy
    return start + 0.05 <= point.t - 1.0 and point.t <= end - 0.05


def during_dd(run: Run, point: Point) -> bool:
    """Whether the second ending at ``point.t`` overlaps dd's run."""
    start, end = run.dd_ran
    return point.t - 1.0 < end + 0.05 and point.t > start - 0.05


def written(matched: Sequence[tuple[Point, Point]]) -> tuple[float, float]:
    """Bytes written over the paired seconds: psutil's, the reference's."""
    return sum(p.written or 0.0 for p, _ in matched), sum(r.written or 0.0 for _, r in matched)


def median_diff(matched: Sequence[tuple[Point, Point]], what: str) -> float:
    """The median over the paired seconds of |psutil - reference| for ``busy`` or ``us``."""
    return float(statistics.median(abs(getattr(p, what) - getattr(r, what)) for p, r in matched))


def table(run: Run, source: str) -> str:
    """The paired seconds, for failure messages and ``-s`` runs."""
    rows = [f"  {'t':>7} {'dt':>6} {'busy':>11} {'us':>11} {'MiB written':>13}  psutil/{source}"]
    t0 = run.points["psutil"][0].t - 1 if run.points["psutil"] else 0.0
    for p, r in pairs(run, source):
        mib = "" if r.written is None else f"{(p.written or 0) / MIB:6.1f}/{r.written / MIB:6.1f}"
        mark = " loaded" if loaded(run, p) else " dd" if during_dd(run, p) else ""
        rows.append(
            f"  {p.t - t0:7.3f} {r.t - p.t:+6.3f} {p.busy:5.1f}/{r.busy:5.1f} "
            f"{p.us:5.1f}/{r.us:5.1f} {mib:>13}{mark}"
        )
    return "\n".join(rows)


def summary(run: Run) -> str:
    """One line per source: pairs, phase, median differences; MiB written where it has them."""
    seen = ", ".join(
        f"{disk} {written / MIB:.2f} MiB" for disk, written in run.disks_written.items()
    )
    lines = [f"dd: {DD_MIB} MiB with {run.dd_flag} on {run.filesystem}; disks wrote {seen}"]
    for source in SOURCES:
        matched = pairs(run, source)
        heavy = [(p, r) for p, r in matched if loaded(run, p)]
        if not matched or not heavy:
            lines.append(f"{source}: {len(matched)} pairs, {len(heavy)} loaded")
            continue
        phase = statistics.median(r.t - p.t for p, r in matched)
        worst = max(abs(p.busy - r.busy) for p, r in matched)
        lines.append(
            f"{source}: {len(matched)} pairs, phase {phase:+.3f} s; median |diff| "
            f"busy {median_diff(matched, 'busy'):.2f} us {median_diff(matched, 'us'):.2f}, "
            f"loaded ({len(heavy)} s) busy {median_diff(heavy, 'busy'):.2f} "
            f"us {median_diff(heavy, 'us'):.2f}; largest busy diff {worst:.1f}"
        )
        if matched[0][1].written is not None:
            ours, theirs = written(matched)
            dd_ours, dd_theirs = written([(p, r) for p, r in matched if during_dd(run, p)])
            lines.append(
                f"  MiB written, psutil/{source}: window {ours / MIB:.2f}/{theirs / MIB:.2f}, "
                f"seconds of dd {dd_ours / MIB:.2f}/{dd_theirs / MIB:.2f}"
            )
    return "\n".join(lines)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    require_programs({"iostat": "sysstat", "vmstat": "procps", "dd": "coreutils"})
    with on_a_disk(tmp_path_factory.mktemp("sysstat-reference")) as directory:
        measured = asyncio.run(measure(directory))
    print(summary(measured))  # shown with -s
    return measured


# -- the tests ------------------------------------------------------------------------------------
def test_a_missing_tool_skips_here_and_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    missing = {"no-such-iostat-here": "sysstat"}
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="install sysstat"):
        require_programs(missing)
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match=r"install sysstat.*CI is set"):
        require_programs(missing)


@pytest.mark.slow
def test_the_load_reached_the_cpu_and_the_disk(run: Run) -> None:
    start, end = run.busy
    assert end - start >= BUSY_FOR - 0.5, "the CPU-bound child did not spin long enough"
    # O_DIRECT (or O_DSYNC) writes reach a disk while dd runs, not at some later flush.
    assert sum(run.disks_written.values()) >= 0.95 * run.dd_bytes, summary(run)


@pytest.mark.slow
@pytest.mark.parametrize("source", SOURCES)
def test_cpu_agrees_second_by_second(run: Run, source: str) -> None:
    if any(p.scope == "container" for p in run.points["psutil"]):
        pytest.skip("psutil reads this container's CPU limit (scope container); iostat the host's")
    matched = pairs(run, source)
    detail = f"{summary(run)}\n{table(run, source)}"
    assert len(matched) >= MIN_PAIRS, f"too few seconds paired with psutil's\n{detail}"
    phase = statistics.median(abs(r.t - p.t) for p, r in matched)
    assert phase <= MAX_PHASE, f"{source} reports {phase:.3f} s away from psutil's ticks\n{detail}"
    for p, r in matched:  # the reports' own clocks say the same second
        assert r.stamp is None or -1.5 <= r.stamp - p.t <= 0.5, detail
    heavy = [(p, r) for p, r in matched if loaded(run, p)]
    assert len(heavy) >= MIN_LOADED, f"too few seconds inside the CPU load\n{detail}"
    assert all(r.busy >= LOADED_BUSY for _, r in heavy), f"{source} missed the load\n{detail}"
    for what in ("busy", "us"):
        assert median_diff(matched, what) <= CPU_POINTS, f"{what}, all seconds\n{detail}"
        assert median_diff(heavy, what) <= CPU_POINTS, f"{what}, loaded seconds\n{detail}"


@pytest.mark.slow
@pytest.mark.parametrize("source", ["iostat", "source iostat"])
def test_bytes_written_agree_with_iostat_and_dd(run: Run, source: str) -> None:
    matched = pairs(run, source)
    detail = f"{summary(run)}\n{table(run, source)}"
    assert len(matched) >= MIN_PAIRS, f"too few seconds paired with psutil's\n{detail}"
    ours, theirs = written(matched)  # the same seconds: whatever else wrote is in both
    assert abs(ours - theirs) <= BYTES_SHARE * theirs, f"psutil vs {source}\n{detail}"
    # Against dd, only the seconds dd ran in: other writers on a shared machine add little there.
    near_dd = [(p, r) for p, r in matched if during_dd(run, p)]
    assert 1 <= len(near_dd) <= run.dd_ran[1] - run.dd_ran[0] + 2, f"dd's seconds\n{detail}"
    for name, total in zip(("psutil", source), written(near_dd), strict=True):
        assert abs(total - run.dd_bytes) <= BYTES_SHARE * run.dd_bytes, f"{name} vs dd\n{detail}"
