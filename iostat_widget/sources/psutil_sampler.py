"""The default source: read the kernel's cumulative counters with psutil and turn them into samples.

Never calls a blocking ``cpu_percent(interval=...)``: each call reads counters once (well under a
millisecond) and the rates cover the time since the previous call, so one sampler can serve any
number of clients from an event loop. Inside a limited container, CPU and memory come from the
container's cgroup instead (see :mod:`.cgroup`), since psutil there describes the whole host.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple, Protocol

import psutil

from ..schema import CpuPercent, DiskRates, MemUsage, NetRates, Sample, Scope
from .cgroup import CgroupDirs, CgroupReading, find_cgroup, read_cgroup_dirs
from .container import container_cpu_percent, container_memory
from .device_rates import (
    DiskCounters,
    NicCounters,
    disk_rates,
    is_loopback_nic,
    net_rates,
    whole_disks,
)
from .rates import counter_rate, cpu_percent, rounded

__all__ = ["Counters", "NoReading", "PsutilSampler", "Sampler", "iso_date"]

log = logging.getLogger(__name__)


class NoReading(RuntimeError):
    """A sampler has nothing new this tick (a source between reports): the hub skips the tick
    quietly, and viewers draw a gap rather than a stale value."""


class Sampler(Protocol):
    """What the hub needs from a source: a baseline, then one sample per call."""

    def prime(self) -> None:
        """Take the baseline reading the next :meth:`sample` is measured against."""

    def sample(self, seq: int) -> Sample:
        """Return the activity since the previous call (or :meth:`prime`), numbered ``seq``."""
        ...


class Counters(NamedTuple):
    """One reading of every cumulative counter a sample is computed from."""

    t: float
    cpu: Mapping[str, float]
    disk_read: float
    disk_write: float
    disk_reads: float
    disk_writes: float
    net_rx: float
    net_tx: float
    container: CgroupReading | None = None  #: the cgroup's limits and counters, when limited
    disks: Mapping[str, DiskCounters] = {}  #: per device, for the detail stream
    nics: Mapping[str, NicCounters] = {}  #: per interface, loopback included (rates leave it out)


def iso_date(t: float) -> str:
    """ISO-8601 UTC with milliseconds and a ``Z``, e.g. ``2026-11-26T04:15:13.123Z``."""
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _read_counters(
    clock: Callable[[], float],
    cgroup: CgroupDirs | None = None,
    environ: Mapping[str, str] | None = None,
    limited: bool = True,
) -> Counters:
    cpu = psutil.cpu_times()._asdict()
    disks = {  # None where the platform has no disk counters
        name: DiskCounters(
            float(d.read_bytes), float(d.write_bytes), float(d.read_count), float(d.write_count)
        )
        for name, d in (psutil.disk_io_counters(perdisk=True) or {}).items()
    }
    # One read of the disk table: the total is the sum over whole disks, the same ones the
    # detail stream lists (partitions would count twice; loop and RAM disks are not disks).
    whole = [disks[name] for name in whole_disks(disks)]
    nics = {
        name: NicCounters(float(n.bytes_recv), float(n.bytes_sent))
        for name, n in (psutil.net_io_counters(pernic=True) or {}).items()
    }
    # The machine talking to itself over loopback is not network traffic: leave it out.
    outside = [counters for name, counters in nics.items() if not is_loopback_nic(name)]
    return Counters(
        t=clock(),
        cpu=cpu,
        disk_read=sum(d.read_bytes for d in whole),
        disk_write=sum(d.write_bytes for d in whole),
        disk_reads=sum(d.reads for d in whole),
        disk_writes=sum(d.writes for d in whole),
        net_rx=sum(counters.rx_bytes for counters in outside),
        net_tx=sum(counters.tx_bytes for counters in outside),
        container=read_cgroup_dirs(cgroup, environ) if limited else None,
        disks=disks,
        nics=nics,
    )


class PsutilSampler:
    """Samples the machine from psutil counters, or the container it runs in when that is limited.

    Where :func:`~.cgroup.read_cgroup` finds a CPU or memory limit (cgroup files below ``root``,
    or ``CPU_LIMIT``/``MEM_LIMIT`` in ``environ``), samples say ``scope="container"`` and:

    - ``cpu`` is the container's CPU time over the interval as a percent of its limit in cores
      (of the host's core count when only memory is limited): ``us`` the user share, ``sy`` the
      system share, ``id`` = 100 - us - sy (at least 0); ``wa`` and ``st`` are 0, because a
      cgroup does not count iowait or steal time.
    - ``mem.used_pct`` is (current - inactive_file) / limit * 100 and ``mem.avail_bytes`` is
      limit - that, like ``docker stats`` (the limit is the machine's memory when there is no
      memory limit or when it is larger).
    - ``disk`` and ``net`` stay psutil's: the container's own network namespace already gives its
      own interface counters, while disk counters are the host's devices.

    Everywhere, ``net`` leaves the loopback interface out (local talk is not network traffic),
    and ``disks``/``nics`` give each disk (partitions and loop devices left out) and interface;
    the hub sends those only to the detail stream.

    A figure the cgroup cannot give (no usage counter readable) falls back to psutil's.
    Inject ``clock``, ``host``, ``root`` and ``environ`` in tests.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        host: str | None = None,
        root: Path = Path("/"),
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._clock = clock
        self.host = host if host is not None else socket.gethostname()
        self.root = root
        self._environ = environ
        self._prev: Counters | None = None
        self._reported: set[str] = set()
        self._cgroup: CgroupDirs | None = None
        self._limited = True  #: whether a cgroup limit was found at the last start

    def _read(self) -> Counters:
        counters = _read_counters(self._clock, self._cgroup, self._environ, self._limited)
        for problem in counters.container.problems if counters.container else ():
            if problem not in self._reported:  # once each: a garbled file stays garbled
                self._reported.add(problem)
                log.warning("cgroup: %s", problem)
        return counters

    def prime(self) -> None:
        """Find the cgroup and read the baseline counters; called when sampling (re)starts.

        Limits are looked for once per start: where there is none (a host, an unlimited
        container), later readings skip the cgroup files altogether.
        """
        self._cgroup = find_cgroup(self.root)  # once per start: a process's cgroup rarely moves
        self._limited = True
        self._prev = self._read()
        self._limited = self._prev.container is not None

    def sample(self, seq: int) -> Sample:
        """Rates and percentages since the previous reading."""
        if self._prev is None:
            self.prime()
        prev = self._prev
        assert prev is not None
        cur = self._read()
        self._prev = cur
        dt = cur.t - prev.t
        cpu = cpu_percent(prev.cpu, cur.cpu)
        memory = psutil.virtual_memory()
        sample = Sample(
            seq=seq,
            t=round(cur.t, 3),
            date=iso_date(cur.t),
            host=self.host,
            interval=max(round(dt, 3), 0.001),  # two readings are never 0 s apart on the wire
            cpu=CpuPercent(
                us=rounded(cpu["us"]),
                sy=rounded(cpu["sy"]),
                id=rounded(cpu["id"]),
                wa=rounded(cpu["wa"]),
                st=rounded(cpu["st"]),
                irq=rounded(cpu.get("irq", 0.0)),
            ),
            disk=DiskRates(
                read_bps=rounded(counter_rate(prev.disk_read, cur.disk_read, dt), 0),
                write_bps=rounded(counter_rate(prev.disk_write, cur.disk_write, dt), 0),
                read_iops=rounded(counter_rate(prev.disk_reads, cur.disk_reads, dt)),
                write_iops=rounded(counter_rate(prev.disk_writes, cur.disk_writes, dt)),
            ),
            net=NetRates(
                rx_bps=rounded(counter_rate(prev.net_rx, cur.net_rx, dt), 0),
                tx_bps=rounded(counter_rate(prev.net_tx, cur.net_tx, dt), 0),
            ),
            mem=MemUsage(used_pct=rounded(memory.percent), avail_bytes=memory.available),
            scope="host",
            disks=disk_rates(prev.disks, cur.disks, dt),
            nics=net_rates(prev.nics, cur.nics, dt),
        )
        if cur.container is not None:
            self._container_scope(sample, prev.container, cur.container, dt, memory.total)
        return sample

    @staticmethod
    def _container_scope(
        sample: Sample,
        prev: CgroupReading | None,
        cur: CgroupReading,
        seconds: float,
        host_memory: float,
    ) -> None:
        """Replace the host's CPU and memory figures with the container's, where readable."""
        scope: Scope = "container"
        sample["scope"] = scope
        cores = cur.cpu_limit if cur.cpu_limit is not None else float(psutil.cpu_count() or 1)
        cpu = None if prev is None else container_cpu_percent(prev, cur, seconds, cores)
        if cpu is not None:
            sample["cpu"] = cpu
        mem = container_memory(cur, host_memory)
        if mem is not None:
            sample["mem"] = mem
