"""Counter → rate maths: turn two snapshots of cumulative counters into percentages and rates.

Kernels expose CPU time and I/O bytes as ever-growing counters; iostat's figures are the
differences between two readings divided by the time between them. Pure on purpose, so the maths
is tested with known numbers and no machine.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from ..schema import CpuPercent

__all__ = [
    "WORD_TOPS",
    "counter_delta",
    "counter_rate",
    "cpu_percent",
    "cpu_shares",
    "rounded",
]

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
    # A field of the summed line that went down is no counter reset but a changed set of CPUs
    # (see proc_stat): that field counts as 0.
    return sum(max(cur.get(f, 0.0) - prev.get(f, 0.0), 0.0) for f in fields)


def cpu_shares(grown: Mapping[str, float]) -> CpuPercent:
    """Percent of CPU time in each iostat state, from each field's growth in seconds.

    ``us`` is user + nice, ``sy`` is system + irq + softirq (as sysstat's iostat counts %system),
    ``id`` idle, ``wa`` iowait, ``st`` steal; fields a platform lacks count as 0; guest time is
    already in user and nice. The five add up to 100 unless nothing grew, in which case
    everything is 0 but ``id`` (100). ``irq`` is the part of ``sy`` spent on interrupts.
    """
    total = sum(max(grown.get(f, 0.0), 0.0) for f in _ALL)
    if total <= 0.0:
        return CpuPercent(us=0.0, sy=0.0, id=100.0, wa=0.0, st=0.0, irq=0.0)

    def share(fields: tuple[str, ...]) -> float:
        return 100.0 * sum(max(grown.get(f, 0.0), 0.0) for f in fields) / total

    return CpuPercent(
        us=share(_BUSY_USER),
        sy=share(_BUSY_SYSTEM),
        id=share(_IDLE),
        wa=share(_IOWAIT),
        st=share(_STEAL),
        irq=share(_INTERRUPTS),
    )


def cpu_percent(prev: Mapping[str, float], cur: Mapping[str, float]) -> CpuPercent:
    """Percent of CPU time spent in each iostat state between two ``cpu_times()`` snapshots of
    the whole machine (:func:`cpu_shares`; a field that went down counts as 0)."""
    return cpu_shares({field: _delta(prev, cur, (field,)) for field in _ALL})


#: Where an unsigned counter of 32 or 64 bits wraps.
WORD_TOPS: Final = (2.0**32, 2.0**64)


def counter_delta(prev: float, cur: float, tops: tuple[float, ...] = WORD_TOPS) -> float:
    """How much a cumulative counter grew from ``prev`` to ``cur``, through a wrap or a reset.

    A counter that went down either wrapped at one of ``tops`` (a 32-bit counter passes
    2**32 - 1 within one interval on a busy 10 Gbit/s link; some drivers and 32-bit kernels still
    keep such counters; a byte count made of 512-byte sectors wraps at 512 times that) or was
    reset to zero (a device detached and attached again, a driver reloaded, a CPU back online).
    Resets are far more common on today's 64-bit kernels, so a wrap needs strong evidence: at
    the smallest top that ``prev`` stays under, the wrapped growth ``top - prev + cur`` must be
    under an eighth of that top (``prev`` was in the top eighth, ``cur`` still small: 537 MB for
    a 32-bit byte counter). Otherwise it was reset, and what it counts now is what happened
    since: ``cur`` (as Prometheus's ``rate()`` reads a reset). ``tops=()``: a counter that never
    wraps, only restarts.
    """
    if cur >= prev:
        return cur - prev
    for top in tops:
        if prev < top and cur < top and top - prev + cur < top / 8:
            return top - prev + cur
    return max(cur, 0.0)


def counter_rate(prev: float, cur: float, seconds: float) -> float:
    """Per-second growth of a cumulative counter (:func:`counter_delta`) over ``seconds``.

    0 when no time passed (``seconds`` <= 0): there is no rate over no time.
    """
    if seconds <= 0.0:
        return 0.0
    return counter_delta(prev, cur) / seconds


def rounded(value: float, digits: int = 1) -> float:
    """Round for the wire: one decimal is finer than any reading's real precision.

    A whole number comes back as an ``int`` so JSON spells it ``0``, not ``0.0``: every byte of a
    sample is sent once per viewer per second.
    """
    if value == 0:  # most devices, most ticks
        return 0
    result = round(value, digits)
    return int(result) if result.is_integer() else result
