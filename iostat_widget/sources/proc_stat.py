"""Each CPU's time counters from Linux's ``/proc/stat``, so a CPU going offline changes no share.

The first line of ``/proc/stat`` adds up every CPU the machine could have. When a CPU goes offline
its idle time in that sum can jump back (the kernel then reads another idle counter), and when it
comes back its ``cpuN`` idle restarts from zero: a difference of two first lines can then show a
busy machine as idle or the other way round. The ``cpuN`` lines name each online CPU, so shares
are computed from the CPUs present in both readings, each CPU's own growth (as sysstat does).

:func:`parse_proc_stat` is pure; :func:`read_cpu_times` reads the file below an injectable
``root`` and returns None where there is none (another platform, a fixture tree without it).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from ..schema import CpuPercent
from .rates import cpu_shares

__all__ = ["CPU_FIELDS", "parse_proc_stat", "per_cpu_percent", "read_cpu_times", "user_hz"]

#: The columns of a ``cpu`` line, in order (psutil's names for them).
CPU_FIELDS: Final = (
    "user",
    "nice",
    "system",
    "idle",
    "iowait",
    "irq",
    "softirq",
    "steal",
    "guest",
    "guest_nice",
)


def user_hz() -> int:
    """Ticks per second of /proc/stat and cpuacct.stat (``SC_CLK_TCK``; Linux's 100 elsewhere)."""
    try:
        return int(os.sysconf("SC_CLK_TCK"))
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows)
        return 100


def parse_proc_stat(text: str, ticks_per_second: int = 100) -> dict[str, dict[str, float]]:
    """``cpuN`` lines of /proc/stat → {"cpuN": {field: seconds}}; the summed ``cpu`` line and
    other lines are left out, and so is a line that is not a CPU's counters (too few columns,
    a word where a number should be)."""
    cpus: dict[str, dict[str, float]] = {}
    for line in text.splitlines():
        if not line.startswith("cpu") or line.startswith("cpu "):
            continue
        name, *columns = line.split()
        if not name[3:].isdigit() or len(columns) < 4:
            continue
        try:
            ticks = [int(column) for column in columns[: len(CPU_FIELDS)]]
        except ValueError:
            continue
        cpus[name] = {
            field: value / ticks_per_second for field, value in zip(CPU_FIELDS, ticks, strict=False)
        }
    return cpus


def read_cpu_times(root: Path = Path("/")) -> dict[str, dict[str, float]] | None:
    """Each online CPU's times in seconds from ``root/proc/stat``; None without a readable one."""
    try:
        text = (root / "proc" / "stat").read_text()
    except (OSError, UnicodeDecodeError):
        return None
    return parse_proc_stat(text, user_hz()) or None


def per_cpu_percent(
    prev: Mapping[str, Mapping[str, float]], cur: Mapping[str, Mapping[str, float]]
) -> CpuPercent:
    """Shares of CPU time (as :func:`~.rates.cpu_percent`) over the CPUs present in both
    readings, from each CPU's own growth per field. A field that went down stepped back (a tick
    of iowait or idle jitter: no time), or, when it fell below half of what it held, restarted
    with its CPU coming back online (what it holds now is what it did since)."""
    grown: dict[str, float] = {}
    for name in prev.keys() & cur.keys():
        before, now = prev[name], cur[name]
        for field in now.keys() & before.keys():
            grown[field] = grown.get(field, 0.0) + _field_growth(before[field], now[field])
    return cpu_shares(grown)


def _field_growth(before: float, now: float) -> float:
    # A field can step back a tick or two (the kernel documents it for iowait; NO_HZ idle too):
    # that is no time. One that fell to under half of what it held restarted with its CPU (back
    # online, its idle count from zero): what it holds now was counted since.
    if now >= before:
        return now - before
    return now if now < before / 2 else 0.0
