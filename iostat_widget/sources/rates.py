"""Counter → rate maths: turn two snapshots of cumulative counters into percentages and rates.

Kernels expose CPU time and I/O bytes as ever-growing counters; iostat's figures are the
differences between two readings divided by the time between them. Pure on purpose, so the maths
is tested with known numbers and no machine.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from ..schema import CpuPercent

__all__ = ["counter_rate", "cpu_percent", "rounded"]

# Linux /proc/stat fields (psutil.cpu_times names). guest and guest_nice are already counted in
# user and nice, so adding them would count that time twice (psutil.cpu_percent drops them too).
_BUSY_USER: Final = ("user", "nice")
_INTERRUPTS: Final = ("irq", "softirq", "interrupt", "dpc")
_BUSY_SYSTEM: Final = ("system", *_INTERRUPTS)
_IDLE: Final = ("idle",)
_IOWAIT: Final = ("iowait",)
_STEAL: Final = ("steal",)
_ALL: Final = _BUSY_USER + _BUSY_SYSTEM + _IDLE + _IOWAIT + _STEAL


def _delta(prev: Mapping[str, float], cur: Mapping[str, float], fields: tuple[str, ...]) -> float:
    # A counter that went down was reset (CPU hot-unplug, VM migration): that field counts as 0.
    return sum(max(cur.get(f, 0.0) - prev.get(f, 0.0), 0.0) for f in fields)


def cpu_percent(prev: Mapping[str, float], cur: Mapping[str, float]) -> CpuPercent:
    """Percent of CPU time spent in each iostat state between two ``cpu_times()`` snapshots.

    ``us`` is user + nice, ``sy`` is system + irq + softirq (as sysstat's iostat counts %system),
    ``id`` idle, ``wa`` iowait, ``st`` steal; fields a platform lacks count as 0. The five add up to
    100 unless no time passed, in which case everything is 0 but ``id`` (100). ``irq`` is the part
    of ``sy`` spent on interrupts (hard and soft).
    """
    total = _delta(prev, cur, _ALL)
    if total <= 0.0:
        return CpuPercent(us=0.0, sy=0.0, id=100.0, wa=0.0, st=0.0, irq=0.0)

    def share(fields: tuple[str, ...]) -> float:
        return 100.0 * _delta(prev, cur, fields) / total

    return CpuPercent(
        us=share(_BUSY_USER),
        sy=share(_BUSY_SYSTEM),
        id=share(_IDLE),
        wa=share(_IOWAIT),
        st=share(_STEAL),
        irq=share(_INTERRUPTS),
    )


def counter_rate(prev: float, cur: float, seconds: float) -> float:
    """Per-second rate of a cumulative counter; 0 when the counter was reset or no time passed."""
    if seconds <= 0.0 or cur < prev:
        return 0.0
    return (cur - prev) / seconds


def rounded(value: float, digits: int = 1) -> float:
    """Round for the wire: one decimal is finer than any reading's real precision.

    A whole number comes back as an ``int`` so JSON spells it ``0``, not ``0.0``: every byte of a
    sample is sent once per viewer per second.
    """
    result = round(value, digits)
    return int(result) if result.is_integer() else result
