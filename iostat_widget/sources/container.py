"""Container-scope maths: cgroup counters as shares of the container's own limits.

A container limited to half a core that uses all of it is 100 % busy, however many idle cores
the host has; one using 400 MiB of a 512 MiB limit is nearly full, however much memory the host
has free. These functions turn two :class:`~iostat_widget.sources.cgroup.CgroupReading`\\ s into
the sample's ``cpu`` and ``mem`` sections. Pure, so they are tested with known numbers.
"""

from __future__ import annotations

from ..schema import CpuPercent, MemUsage
from .cgroup import CgroupReading
from .rates import counter_delta, rounded

__all__ = ["container_cpu_percent", "container_memory"]


def _grown(prev: float | None, cur: float | None) -> float:
    # A missing counter counts as no time; one that went down restarted with a new cgroup, and
    # what it holds now was used since (cgroup counters are 64-bit: they never wrap).
    return 0.0 if prev is None or cur is None else counter_delta(prev, cur, tops=())


def container_cpu_percent(
    prev: CgroupReading, cur: CgroupReading, seconds: float, cores: float
) -> CpuPercent | None:
    """CPU time used over ``seconds`` as a percent of ``cores`` (the limit, or the host's count).

    ``us`` and ``sy`` split the usage in the proportion of the user and system counters (all user
    when those did not move), ``id`` is 100 - us - sy (never below 0). A cgroup counts no iowait,
    steal or interrupt time, so ``wa`` and ``st`` are 0. None when a usage counter is missing or
    no time passed: the caller then falls back to the host's figures.
    """
    if prev.cpu_usage_usec is None or cur.cpu_usage_usec is None or seconds <= 0 or cores <= 0:
        return None
    busy = _grown(prev.cpu_usage_usec, cur.cpu_usage_usec)
    total = min(100.0 * busy / (seconds * 1e6 * cores), 100.0)  # bursts can overshoot a period
    user = _grown(prev.cpu_user_usec, cur.cpu_user_usec)
    system = _grown(prev.cpu_system_usec, cur.cpu_system_usec)
    us = total * user / (user + system) if user + system > 0 else total
    sy = total - us
    return CpuPercent(
        us=rounded(us),
        sy=rounded(sy),
        id=rounded(max(100.0 - us - sy, 0.0)),
        wa=0,
        st=0,
    )


def container_memory(reading: CgroupReading, host_total: float) -> MemUsage | None:
    """Memory in use as a percent of the limit, and bytes left under it, like ``docker stats``.

    In use is ``current - inactive_file`` (page cache the kernel would drop first does not count).
    With no memory limit, or one above the machine's memory, the limit is ``host_total``. None
    when the current usage is unknown: the caller then falls back to the host's figures.
    """
    if reading.mem_current is None:
        return None
    limit = float(reading.mem_limit if reading.mem_limit is not None else host_total)
    if host_total > 0:
        limit = min(limit, float(host_total))
    if limit <= 0:
        return None
    used = min(max(float(reading.mem_current - reading.mem_inactive_file), 0.0), limit)
    return MemUsage(used_pct=rounded(100.0 * used / limit), avail_bytes=rounded(limit - used, 0))
