"""Figure 2's busy-table rows: what the top-N table adds to a server's tick, 500 processes up.

``N`` idle processes (``sleep``) are started so the machine has at least that many; then each
tick is timed in this process: the plain sampler (``PsutilSampler().sample()``), and the sampler
plus the busy table (``TopSampler(reader).top(10)``: every process's counters read, deltas
taken, the ten busiest kept) with each reader: psutil's ``process_iter``, and on Linux ``/proc``
read directly (the server's default there). CPU µs per tick; the ratio to the plain tick is the
cost of a tick while some viewer asks for the table over one without.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable

import psutil

from iostat_widget.sources.proc_top import proc_readable, read_proc
from iostat_widget.sources.psutil_sampler import PsutilSampler
from iostat_widget.sources.top_processes import Reading, TopSampler, read_processes

__all__ = ["READERS", "tick_costs_us"]

#: The busy table's readers, by the name the report gives them.
READERS = ("psutil", "/proc")


def _readers() -> dict[str, Callable[[], Reading] | None]:
    psutil_users: dict[int, str] = {}
    proc_users: dict[int, str] = {}
    return {
        "psutil": lambda: read_processes(psutil_users),
        "/proc": (lambda: read_proc(users=proc_users)) if proc_readable() else None,
    }


def _per_tick_us(sampler: PsutilSampler, top: TopSampler | None, loops: int) -> float:
    for seq in range(min(loops, 5)):  # warm caches
        sampler.sample(seq)
        if top is not None:
            top.top(10)
    started = time.process_time()
    for seq in range(loops):
        sampler.sample(seq)
        if top is not None:
            top.top(10)
    return (time.process_time() - started) / loops * 1e6


def tick_costs_us(processes: int, loops: int) -> tuple[float, dict[str, float | None], int]:
    """CPU µs per tick of the plain sampler, of the sampler plus the busy table with each of
    :data:`READERS` (``None`` where that reader is not available), with at least ``processes``
    processes on the machine; and how many there were."""
    sleep = shutil.which("sleep") or "sleep"
    have = len(psutil.pids())
    children = [
        subprocess.Popen([sleep, "600"], stdin=subprocess.DEVNULL)
        for _ in range(max(processes - have, 0))
    ]
    try:
        counted = len(psutil.pids())
        sampler = PsutilSampler()
        sampler.prime()
        plain = _per_tick_us(sampler, None, loops)
        with_top: dict[str, float | None] = {}
        for name, reader in _readers().items():
            with_top[name] = (
                None if reader is None else _per_tick_us(sampler, TopSampler(reader), loops)
            )
    finally:
        for child in children:
            child.kill()
        for child in children:
            child.wait()
    return plain, with_top, counted
