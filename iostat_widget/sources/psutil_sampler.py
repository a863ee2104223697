"""The default source: read the kernel's cumulative counters with psutil and turn them into samples.

Never calls a blocking ``cpu_percent(interval=...)``: each call reads counters once (well under a
millisecond) and the rates cover the time since the previous call, so one sampler can serve any
number of clients from an event loop. Inside a limited container, CPU and memory come from the
container's cgroup instead (see :mod:`.cgroup`), since psutil there describes the whole host.
Which disks and interfaces make the totals is read from sysfs (see :mod:`.topology`).
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import psutil

from ..schema import CpuPercent, MemUsage, Sample, Scope
from .base import NoReading, iso_date
from .cgroup import CgroupDirs, CgroupReading, find_cgroup, read_cgroup_dirs
from .container import container_cpu_percent, container_memory
from .device_rates import DiskCounters, NicCounters, disk_figures, net_figures
from .gpu import GpuReader, open_gpus
from .proc_stat import per_cpu_percent, read_cpu_times
from .rates import cpu_percent, rounded
from .topology import TopologyCache, block_roles, net_roles

__all__ = [
    "Counters",
    "PsutilLike",
    "PsutilSampler",
    "elapsed_seconds",
]

log = logging.getLogger(__name__)

#: The shortest interval a rate is given over (the wire's ``interval`` has millisecond steps).
_MIN_SECONDS = 0.001


class PsutilLike(Protocol):
    """The part of psutil a :class:`PsutilSampler` reads (the ``psutil`` module itself, or a
    stand-in with psutil-shaped results for tests)."""

    def cpu_times(self) -> Any: ...
    def cpu_count(self) -> int | None: ...
    def virtual_memory(self) -> Any: ...
    def disk_io_counters(self, perdisk: bool, nowrap: bool) -> Any: ...
    def net_io_counters(self, pernic: bool, nowrap: bool) -> Any: ...


class Counters(NamedTuple):
    """One reading of every cumulative counter a sample is computed from.

    ``t`` is the wall clock (epoch seconds, for the sample's time), ``elapsed`` a clock that never
    steps (seconds, for the rates): NTP or ``date -s`` moving the wall clock changes no rate.
    """

    t: float
    elapsed: float
    cpu: Mapping[str, Mapping[str, float]]  #: per CPU (``cpu0``…), or ``{"all": …}`` summed
    disks: Mapping[str, DiskCounters]  #: per block device, as the kernel lists them
    nics: Mapping[str, NicCounters]  #: per interface, loopback included (totals leave it out)
    container: CgroupReading | None = None  #: the cgroup's limits and counters, when limited


def elapsed_seconds() -> float:
    """Seconds on a clock that the wall clock's steps do not move and that counts a suspended
    machine's sleep (Linux's ``CLOCK_BOOTTIME``; elsewhere ``time.monotonic``)."""
    boottime = getattr(time, "CLOCK_BOOTTIME", None)
    if boottime is not None:
        try:
            return time.clock_gettime(boottime)
        except OSError:  # pragma: no cover - a kernel without it
            pass
    return time.monotonic()


def _read_counters(
    counters: PsutilLike, root: Path
) -> tuple[dict[str, dict[str, float]], dict[str, DiskCounters], dict[str, NicCounters]]:
    # nowrap=False: a wrapped or reset counter is judged per device by rates.counter_delta, with
    # no cache of psutil's shared by everything else in the process.
    disks = {  # None where the platform has no disk counters
        name: DiskCounters(
            float(d.read_bytes), float(d.write_bytes), float(d.read_count), float(d.write_count)
        )
        for name, d in (counters.disk_io_counters(perdisk=True, nowrap=False) or {}).items()
    }
    nics = {
        name: NicCounters(float(n.bytes_recv), float(n.bytes_sent))
        for name, n in (counters.net_io_counters(pernic=True, nowrap=False) or {}).items()
    }
    # Each CPU's own line where Linux's /proc/stat is there (a CPU going offline is then no
    # jump), else psutil's sum over all CPUs.
    cpu = read_cpu_times(root) or {"all": counters.cpu_times()._asdict()}
    return cpu, disks, nics


class PsutilSampler:
    """Samples the machine from psutil counters, or the container it runs in when that is limited.

    - ``cpu``: shares of the CPU time the kernel counted over the interval (all CPUs together).
    - ``disk``: bytes and operations per second summed over the block devices that are not
      stacked on another listed device (:mod:`.topology`: partitions, LVM/device-mapper, md RAID,
      bcache and file-backed loop devices are counted by the devices beneath them).
    - ``net``: bytes per second summed over the physical interfaces (a device behind them in
      sysfs); where there is none (a container's namespace), over every interface but loopback.
    - Totals add each device's own growth over the devices present in both readings, so a device
      that appears or disappears between two readings is no burst or drop; a counter that went
      down wrapped or was reset (:func:`~.rates.counter_delta`). Rates are over ``elapsed_clock``
      seconds, which the wall clock's steps do not move; ``t`` and ``date`` are ``clock``'s.
    - ``disks``/``nics`` (detail stream only) list every block device, marked ``stacked``, and
      every interface but loopback, marked ``virtual``.
    - ``gpu`` (only on a machine with NVIDIA GPUs and their driver): each GPU's utilization and
      memory in use, as NVML reports them at the time of the sample (:mod:`.gpu`).

    Where :func:`~.cgroup.read_cgroup` finds a limit (a CPU quota, a memory limit, a cpuset
    narrower than the machine, ``CPU_LIMIT``/``MEM_LIMIT`` in ``environ``), samples say
    ``scope="container"``: ``cpu`` is the container's CPU time as a percent of the cores it can
    use (the smallest of quota, cpuset and ``CPU_LIMIT``; the machine's count when none is set),
    ``us``/``sy`` split as its user/system counters, ``wa`` and ``st`` 0 (a cgroup counts
    neither); ``mem.used_pct`` is (current - inactive_file) / limit, like ``docker stats``.
    A figure the cgroup cannot give falls back to psutil's.

    Inject ``clock`` (wall clock, also used for rates when no ``elapsed_clock`` is given),
    ``host``, ``root`` (where ``sys/`` and ``proc/`` are read), ``environ``, ``counters``
    (psutil, or a stand-in with psutil-shaped results) and ``gpus`` (called once, at the first
    start: the GPU reader, or None for none; default :func:`~.gpu.open_gpus` over ``pynvml``)
    in tests.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        elapsed_clock: Callable[[], float] | None = None,
        host: str | None = None,
        root: Path = Path("/"),
        environ: Mapping[str, str] | None = None,
        counters: PsutilLike = psutil,
        gpus: Callable[[], GpuReader | None] = open_gpus,
    ) -> None:
        self._clock = clock
        if elapsed_clock is None and clock is time.time:
            elapsed_clock = elapsed_seconds
        self._elapsed_clock = elapsed_clock  #: None: ``clock`` serves for both
        self.host = host if host is not None else socket.gethostname()
        self.root = root
        self._environ = environ
        self._psutil = counters
        self._open_gpus: Callable[[], GpuReader | None] | None = gpus  #: None once called
        self.gpus: GpuReader | None = None  #: the GPUs read, once started; None: no GPU
        self._prev: Counters | None = None
        self._reported: set[str] = set()
        self._cgroup: CgroupDirs | None = None
        self._limited = True  #: whether a cgroup limit was found at the last start
        self._blocks = TopologyCache(lambda names: block_roles(names, self.root))
        self._networks = TopologyCache(lambda names: net_roles(names, self.root))

    def _read(self) -> Counters:
        cpu, disks, nics = _read_counters(self._psutil, self.root)
        container = None
        if self._limited:
            container = read_cgroup_dirs(self._cgroup, self._environ, root=self.root)
        for problem in container.problems if container else ():
            if problem not in self._reported:  # once each: a garbled file stays garbled
                self._reported.add(problem)
                log.warning("cgroup: %s", problem)
        t = self._clock()
        elapsed = t if self._elapsed_clock is None else self._elapsed_clock()
        return Counters(t, elapsed, cpu, disks, nics, container)

    def prime(self) -> None:
        """Find the cgroup and read the baseline counters; called when sampling (re)starts.

        Limits are looked for once per start: where there is none (a host, an unlimited
        container), later readings skip the cgroup files altogether.
        """
        self._cgroup = find_cgroup(self.root)  # once per start: a process's cgroup rarely moves
        if self._open_gpus is not None:  # once: NVML is started for the process's life
            self.gpus, self._open_gpus = self._open_gpus(), None
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
        dt = cur.elapsed - prev.elapsed
        if dt <= 0:  # no time passed (a clock that did not move): keep the baseline, lose nothing
            raise NoReading(f"{dt:.6f} s since the last reading")
        self._prev = cur
        if "all" in cur.cpu or "all" in prev.cpu:
            cpu = cpu_percent(prev.cpu.get("all", {}), cur.cpu.get("all", {}))
        else:
            cpu = per_cpu_percent(prev.cpu, cur.cpu)
        memory = self._psutil.virtual_memory()
        # Keyed by the devices in use, so a loop device bound to a file after start (snapd,
        # `mount -o loop`) or an interface just enslaved is looked at again once it moves.
        blocks = self._blocks.get([name for name, c in cur.disks.items() if any(c)])
        networks = self._networks.get([name for name, c in cur.nics.items() if any(c)])
        disk, disks = disk_figures(prev.disks, cur.disks, dt, blocks.counted, blocks.marked)
        net, nics = net_figures(prev.nics, cur.nics, dt, networks.counted, networks.marked)
        sample = Sample(
            seq=seq,
            t=round(cur.t, 3),
            date=iso_date(cur.t),
            host=self.host,
            interval=max(round(dt, 3), _MIN_SECONDS),
            cpu=CpuPercent(
                us=rounded(cpu["us"]),
                sy=rounded(cpu["sy"]),
                id=rounded(cpu["id"]),
                wa=rounded(cpu["wa"]),
                st=rounded(cpu["st"]),
                irq=rounded(cpu.get("irq", 0.0)),
            ),
            disk=disk,
            net=net,
            mem=MemUsage(used_pct=rounded(memory.percent), avail_bytes=memory.available),
            scope="host",
            disks=disks,
            nics=nics,
        )
        gpus = self.gpus.read() if self.gpus is not None else None
        if gpus is not None:
            sample["gpu"] = gpus
        if cur.container is not None:
            cores = float(self._psutil.cpu_count() or 1)
            self._container_scope(sample, prev.container, cur.container, dt, memory.total, cores)
        return sample

    @staticmethod
    def _container_scope(
        sample: Sample,
        prev: CgroupReading | None,
        cur: CgroupReading,
        seconds: float,
        host_memory: float,
        host_cores: float,
    ) -> None:
        """Replace the host's CPU and memory figures with the container's, where readable."""
        scope: Scope = "container"
        sample["scope"] = scope
        cores = min(cur.cpu_limit, host_cores) if cur.cpu_limit is not None else host_cores
        cpu = None if prev is None else container_cpu_percent(prev, cur, seconds, cores)
        if cpu is not None:
            sample["cpu"] = cpu
        mem = container_memory(cur, host_memory)
        if mem is not None:
            sample["mem"] = mem
