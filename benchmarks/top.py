"""Figure 2's busy-table row: what the top-N table adds to a server's tick, 500 processes up.

``N`` idle processes (``sleep``) are started so the machine has at least that many; then each
tick is timed two ways in this process: the plain sampler (``PsutilSampler().sample()``) and the
sampler plus the busy table (``TopSampler().top(10)``: every process's counters read, deltas
taken, the ten busiest kept), CPU µs per tick; the ratio is the cost of a tick with a viewer
asking for the table over one without.
"""

from __future__ import annotations

import shutil
import subprocess
import time

import psutil

from iostat_widget.sources.psutil_sampler import PsutilSampler
from iostat_widget.sources.top_processes import TopSampler

__all__ = ["tick_costs_us"]


def tick_costs_us(processes: int, loops: int) -> tuple[float, float, int]:
    """CPU µs per tick of the plain sampler and of the sampler plus the busy table, with at least
    ``processes`` processes on the machine; and how many there were."""
    sleep = shutil.which("sleep") or "sleep"
    have = len(psutil.pids())
    children = [
        subprocess.Popen([sleep, "600"], stdin=subprocess.DEVNULL)
        for _ in range(max(processes - have, 0))
    ]
    try:
        counted = len(psutil.pids())
        sampler, top = PsutilSampler(), TopSampler()
        sampler.prime()
        top.top(10)
        for seq in range(min(loops, 5)):  # warm caches
            sampler.sample(seq)
            top.top(10)
        cpu0 = time.process_time()
        for seq in range(loops):
            sampler.sample(seq)
        cpu1 = time.process_time()
        for seq in range(loops):
            sampler.sample(seq)
            top.top(10)
        cpu2 = time.process_time()
    finally:
        for child in children:
            child.kill()
        for child in children:
            child.wait()
    return (cpu1 - cpu0) / loops * 1e6, (cpu2 - cpu1) / loops * 1e6, counted
