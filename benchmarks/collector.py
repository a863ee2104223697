"""Figure 2: what collecting costs, at rest and with viewers, against the sampler alone.

The server's own CPU at 1 Hz is measured with 1 and with 100 viewers held by a swarm process,
so nothing but serving lands in its CPU time. Its baseline is the bare sampler at the same
rate (``PsutilSampler().sample()`` in a loop, here): the ratio is what serving adds on top of
reading the counters. For history, spawning ``iostat``/``vmstat`` once per sample (what a
collector that shells out pays) is measured too, where those binaries exist.
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import time

from iostat_widget.sources.psutil_sampler import PsutilSampler

from .config import Config
from .procs import PYTHON, Child
from .report import FigureResult, Row, Target
from .swarmctl import Swarm
from .top import READERS, tick_costs_us

__all__ = ["row_names", "run", "sampler_cost_us", "spawn_cost_us"]

SPAWNS = {"iostat": ["iostat", "-c", "-d"], "vmstat": ["vmstat"]}
PACKAGES = {"iostat": "sysstat", "vmstat": "procps"}  # Debian packages that ship them
LIMITS = {1: 0.5, 100: 2.0}  # % of one core, from the issue


def _cpu_name(viewers: int) -> str:
    return f"2. serve CPU at 1 Hz, {viewers} viewer{'s' if viewers != 1 else ''}, % of a core"


SAMPLER = "2. bare sampler, CPU µs per sample"


def _top_name(config: Config, reader: str) -> str:
    return f"2. tick with the top-10 table ({reader}), {config.top_processes} processes, CPU µs"


def _spawn_name(tool: str) -> str:
    return f"2. spawn `{tool}` per sample, CPU µs"


def row_names(config: Config) -> list[str]:
    return [
        *(_cpu_name(v) for v in config.collector_viewers),
        SAMPLER,
        *(_top_name(config, reader) for reader in READERS),
        *(_spawn_name(tool) for tool in SPAWNS),
    ]


def sampler_cost_us(loops: int) -> tuple[float, float]:
    """CPU and wall µs per ``PsutilSampler().sample()``, over ``loops`` calls."""
    sampler = PsutilSampler()
    sampler.prime()
    for seq in range(min(loops, 50)):  # warm caches and imports
        sampler.sample(seq)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for seq in range(loops):
        sampler.sample(seq)
    cpu1, wall1 = time.process_time(), time.perf_counter()
    return (cpu1 - cpu0) / loops * 1e6, (wall1 - wall0) / loops * 1e6


def _rusage_cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def spawn_cost_us(argv: list[str], loops: int) -> tuple[float, float]:
    """CPU (parent's fork/exec/read plus the child's) and wall µs per spawn-and-read."""
    subprocess.run(argv, capture_output=True, check=True, timeout=10)
    cpu0 = _rusage_cpu(resource.RUSAGE_SELF) + _rusage_cpu(resource.RUSAGE_CHILDREN)
    wall0 = time.perf_counter()
    for _ in range(loops):
        subprocess.run(argv, capture_output=True, check=True, timeout=10)
    wall1 = time.perf_counter()
    cpu1 = _rusage_cpu(resource.RUSAGE_SELF) + _rusage_cpu(resource.RUSAGE_CHILDREN)
    return (cpu1 - cpu0) / loops * 1e6, (wall1 - wall0) / loops * 1e6


def serve_cpu(viewers: int, seconds: float, settle: float) -> tuple[float, str]:
    """% of one core used by ``iostat-widget serve`` at 1 Hz with ``viewers`` viewers."""
    argv = [PYTHON, "-m", "iostat_widget", "serve", "--port", "0", "--interval", "1"]
    with Child(argv, "collector-serve") as child:
        url = child.wait_for(r"stream:\s+(ws://\S+)").group(1)
        with Swarm(
            url, viewers, processes=1, max_seconds=seconds + 120, client="websockets"
        ) as swarm:
            swarm.ready(timeout=60)
            time.sleep(settle)  # the connect-time history has been sent and read
            cpu0, t0 = child.cpu_seconds(), time.time()
            time.sleep(seconds)
            cpu1, t1 = child.cpu_seconds(), time.time()
            time.sleep(1.0)
            report = swarm.finish(t0, t1)
    percent = (cpu1 - cpu0) / (t1 - t0) * 100.0
    note = (
        f"{viewers} viewer(s): {cpu1 - cpu0:.2f} s CPU in {t1 - t0:.1f} s = {percent:.3f} % of "
        f"a core; viewers got {report.expected} samples each, lost {report.lost}, "
        f"failed {report.failed + report.closed_early}"
    )
    return percent, note


def run(config: Config) -> FigureResult:
    sampler_cpu, sampler_wall = sampler_cost_us(config.sampler_loops)
    sampler_percent = sampler_cpu / 1e6 * 100.0  # % of a core at one sample per second
    notes = [
        f"Bare sampler: {config.sampler_loops} calls of `PsutilSampler().sample()` in this "
        f"process: {sampler_cpu:.0f} µs CPU ({sampler_wall:.0f} µs wall) per sample, i.e. "
        f"{sampler_percent:.3f} % of a core at 1 Hz. That is the baseline of the serve-CPU "
        "rows (ratio = what serving costs per sampling cost).",
        f"Serve CPU: `iostat-widget serve --interval 1` (default history 60) in its own "
        f"process, viewers in a separate swarm process; psutil user+system CPU of the server "
        f"over {config.collector_seconds:g} s, starting {config.collector_settle:g} s after the "
        "last viewer connected.",
    ]
    rows: list[Row] = []
    for viewers in config.collector_viewers:
        percent, note = serve_cpu(viewers, config.collector_seconds, config.collector_settle)
        notes.append(note)
        limit = LIMITS.get(viewers)
        target = Target("<=", limit, unit="%") if limit is not None else None
        rows.append(Row(_cpu_name(viewers), percent, sampler_percent, "bare sampler", target))
    spawns: dict[str, float] = {}
    for tool, argv in SPAWNS.items():
        path = shutil.which(argv[0])
        if path is None:
            rows.append(Row(_spawn_name(tool), None, missing="not installed"))
            notes.append(
                f"`{tool}` is not installed here (Debian: `apt-get install {PACKAGES[tool]}`)."
            )
            continue
        cpu, wall = spawn_cost_us([path, *argv[1:]], config.spawn_loops)
        spawns[tool] = cpu
        rows.append(Row(_spawn_name(tool), cpu, sampler_cpu, "bare sampler"))
        notes.append(
            f"`{' '.join(argv)}` spawned {config.spawn_loops} times and its output read: "
            f"{cpu:.0f} µs CPU (parent + child rusage), {wall:.0f} µs wall per sample"
        )
    cheapest = min(spawns.items(), key=lambda item: item[1]) if spawns else None
    rows.insert(
        len(config.collector_viewers),
        Row(
            SAMPLER,
            sampler_cpu,
            cheapest[1] if cheapest else None,
            f"spawn {cheapest[0]}" if cheapest else "",
        ),
    )
    notes.append(
        "The sampler row's baseline is the cheaper spawn per sample (what a collector that "
        "shells out to iostat/vmstat once per sample pays); the spawn rows' baseline is the "
        "bare sampler. One report per spawn (`iostat -c -d`, `vmstat`: since-boot figures, no "
        "sleep), so this is the process cost alone; a collector that keeps one `iostat 1` "
        "running and parses its output pays the spawn once instead."
    )
    plain, with_top, counted = tick_costs_us(config.top_processes, config.top_loops)
    for place, reader in enumerate(READERS, len(config.collector_viewers) + 1):
        cost = with_top[reader]
        missing = "" if cost is not None else "no /proc here (not Linux)"
        rows.insert(
            place, Row(_top_name(config, reader), cost, plain, "plain tick", missing=missing)
        )
    costs = ", ".join(
        f"{reader} {cost:.0f} µs" for reader, cost in with_top.items() if cost is not None
    )
    notes.append(
        f"Busy table: with {counted} processes on the machine, {config.top_loops} ticks of the "
        f"plain sampler took {plain:.0f} µs CPU each; with `TopSampler(reader).top(10)` too "
        f"(every process's counters, deltas, the ten busiest): {costs}. The ratio is what a "
        "tick costs while some viewer asks for the table (`?top=N`), nothing otherwise; the "
        "server reads `/proc` directly on Linux, psutil elsewhere."
    )
    return FigureResult(rows, notes)
