"""What a process and its children cost: CPU and memory of a process tree from two readings.

A reading maps each process of the tree (the root and its live descendants, keyed by ``(pid,
create time)`` so a reused pid is another process) to :class:`ProcessTimes`: its own CPU seconds
(user + system), the CPU seconds of its children it has reaped (``children_user +
children_system``: a ``multiprocessing`` worker that ended and was joined), its RSS and swap in
bytes. The tree's CPU seconds between two readings (:func:`cpu_seconds`) are

* the growth of each process's own seconds, for processes in both readings (never negative);
* all the seconds of a process born since (its own and its reaped children's);
* the growth of the reaped seconds of processes in both, less what the readings already counted
  of the processes that ended since (their seconds move into their parent's reaped counters
  when it reaps them), never below 0: a child that left the tree unreaped counts nothing more.

:func:`process_cost` turns that into cores (1.0 = one core busy all the time, as ``top`` says
100 %) and a share of the machine's CPUs (``100 * cores / cpus``, the scale of the machine's
us + sy: one core busy on 8 CPUs is 12.5 %), with the tree's RSS summed (pages shared between
processes count in each) as bytes and as a share of the machine's memory. Swap is summed over the
processes whose platform reports it (Linux's ``VmSwap``), ``None`` where none does.

The maths is pure; :func:`read_tree` reads a live tree with psutil (and ``/proc`` on Linux), and
:class:`CostMeter` pairs readings from an injectable reader and clock.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import NamedTuple, TypedDict

import psutil

__all__ = [
    "CostMeter",
    "ProcessCost",
    "ProcessKey",
    "ProcessTimes",
    "Reading",
    "cpu_seconds",
    "process_cost",
    "read_tree",
]

log = logging.getLogger(__name__)

ProcessKey = tuple[int, float]
"""``(pid, create time in epoch seconds)``: one process, even when its pid is used again."""


class ProcessTimes(NamedTuple):
    """One process's counters: CPU seconds, bytes."""

    own: float  #: user + system CPU seconds of the process itself
    reaped: float  #: user + system CPU seconds of the children it has reaped
    rss: float  #: resident set size, bytes
    swap: float | None = None  #: bytes swapped out, ``None`` where the platform does not say


Reading = Mapping[ProcessKey, ProcessTimes]
"""A process tree at one moment: each process's counters."""


class ProcessCost(TypedDict):
    """A process tree's cost over an interval."""

    cores: float  #: CPU seconds per second (1.0 = one core busy)
    cpu_pct: float  #: % of all the machine's CPUs (``100 * cores / cpus``)
    cpus: int  #: the machine's CPUs that scale was taken over
    rss_bytes: float  #: summed resident set size, bytes
    mem_pct: float  #: ``rss_bytes`` as % of the machine's memory
    swap_bytes: float | None  #: summed swap, bytes; ``None`` where no process reports it
    processes: int  #: processes in the tree now


def cpu_seconds(prev: Reading, cur: Reading) -> float:
    """CPU seconds the tree spent between readings ``prev`` and ``cur`` (see the module's text);
    never negative."""
    both = prev.keys() & cur.keys()
    own = sum(max(cur[key].own - prev[key].own, 0.0) for key in both)
    reaped = sum(max(cur[key].reaped - prev[key].reaped, 0.0) for key in both)
    born = sum(cur[key].own + cur[key].reaped for key in cur.keys() - both)
    ended = sum(prev[key].own + prev[key].reaped for key in prev.keys() - both)
    return own + born + max(reaped - ended, 0.0)


def process_cost(
    prev: Reading, cur: Reading, *, seconds: float, cpus: int, memory: float
) -> ProcessCost:
    """The tree's cost between ``prev`` and ``cur``, ``seconds`` apart, on a machine of ``cpus``
    CPUs and ``memory`` bytes; CPU figures are 0 when no time passed, and never more than
    ``cpus`` cores (CPU seconds tick in 1/100 s: a short interval can read more)."""
    cores = cpu_seconds(prev, cur) / seconds if seconds > 0 else 0.0
    cores = min(cores, float(max(cpus, 1)))
    rss = sum(process.rss for process in cur.values())
    swaps = [process.swap for process in cur.values() if process.swap is not None]
    return ProcessCost(
        cores=cores,
        cpu_pct=100.0 * cores / max(cpus, 1),
        cpus=cpus,
        rss_bytes=rss,
        mem_pct=100.0 * rss / memory if memory > 0 else 0.0,
        swap_bytes=sum(swaps) if swaps else None,
        processes=len(cur),
    )


def _children(pid: int) -> Iterable[int] | None:
    """``pid``'s direct children from Linux's ``/proc/PID/task/TID/children`` (one small file
    per thread, instead of reading every process's ``stat`` as psutil does); None where
    unreadable (another platform, a kernel without the files)."""
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += (int(word) for word in (task / "children").read_text().split())
    except (OSError, ValueError):
        return None
    return found


def _descendants(root: psutil.Process) -> list[psutil.Process]:
    pids: list[int] = []
    todo = [root.pid]
    while todo:
        children = _children(todo.pop())
        if children is None:
            return list(root.children(recursive=True))
        pids += children
        todo += children
    found = []
    for pid in pids:
        try:
            found.append(psutil.Process(pid))
        except psutil.Error:
            continue  # ended meanwhile
    return found


def _vm_swap(pid: int) -> float | None:
    """Linux's ``VmSwap`` of ``/proc/PID/status`` in bytes; None where there is none."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmSwap:"):
                    return float(line.split()[1]) * 1024.0  # kB
    except (OSError, ValueError, IndexError):
        pass
    return None


def read_tree(pid: int | None = None) -> dict[ProcessKey, ProcessTimes]:
    """Process ``pid`` (default: this one) and its live descendants, read now.

    Raises:
        psutil.Error: ``pid`` itself cannot be read (a descendant that ends meanwhile is left
            out).
    """
    root = psutil.Process(pid)
    found: dict[ProcessKey, ProcessTimes] = {}
    for process in (root, *_descendants(root)):
        try:
            with process.oneshot():
                cpu = process.cpu_times()
                key = (process.pid, process.create_time())
                rss = float(process.memory_info().rss)
        except psutil.Error:
            if process is root:
                raise
            continue
        found[key] = ProcessTimes(
            own=cpu.user + cpu.system,
            reaped=getattr(cpu, "children_user", 0.0) + getattr(cpu, "children_system", 0.0),
            rss=rss,
            swap=_vm_swap(process.pid),
        )
    return found


class CostMeter:
    """Readings of a process tree, paired into its cost since the previous one.

    ``reader()`` returns a :data:`Reading` (default: :func:`read_tree` of this process),
    ``clock()`` seconds that never step (default ``time.monotonic``); ``cpus`` and ``memory``
    (bytes) are the machine's (default: psutil's logical CPUs and total memory, read once).
    A reading is taken at least ``min_seconds`` after the previous one: CPU seconds tick in
    1/100 s, so over a few milliseconds one tick would read as several cores.
    """

    def __init__(
        self,
        reader: Callable[[], Reading] = read_tree,
        *,
        clock: Callable[[], float] = time.monotonic,
        cpus: int | None = None,
        memory: float | None = None,
        min_seconds: float = 0.25,
    ) -> None:
        self.min_seconds = min_seconds
        self.reader = reader
        self.clock = clock
        self.cpus = cpus if cpus is not None else (psutil.cpu_count() or os.cpu_count() or 1)
        self.memory = memory if memory is not None else float(psutil.virtual_memory().total)
        self._previous: tuple[float, Reading] | None = None

    def reset(self) -> None:
        """Forget the previous reading (the next :meth:`measure` is a first one)."""
        self._previous = None

    def measure(self, *, soon: bool = False) -> ProcessCost | None:
        """Read now; the cost since the previous reading, or None for the first one, sooner than
        ``min_seconds`` after the previous one (nothing read), or when the reader fails (an
        ``OSError`` or ``psutil.Error``, logged at debug level); the next reading is paired with
        the last one taken. ``soon`` reads even sooner (a first figure that must not wait: the
        tick's error is then larger, but never above the machine's CPUs)."""
        now = self.clock()
        if not soon and self._previous is not None and now - self._previous[0] < self.min_seconds:
            return None
        try:
            reading = self.reader()
        except (OSError, psutil.Error):
            log.debug("reading the process tree failed", exc_info=True)
            return None
        previous, self._previous = self._previous, (now, reading)
        if previous is None:
            return None
        then, before = previous
        return process_cost(before, reading, seconds=now - then, cpus=self.cpus, memory=self.memory)
