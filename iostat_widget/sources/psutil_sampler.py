"""The default source: read the kernel's cumulative counters with psutil and turn them into samples.

Never calls a blocking ``cpu_percent(interval=...)``: each call reads counters once (well under a
millisecond) and the rates cover the time since the previous call, so one sampler can serve any
number of clients from an event loop.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import NamedTuple, Protocol

import psutil

from ..schema import CpuPercent, DiskRates, MemUsage, NetRates, Sample
from .rates import counter_rate, cpu_percent, rounded

__all__ = ["Counters", "PsutilSampler", "Sampler", "iso_date"]


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


def iso_date(t: float) -> str:
    """ISO-8601 UTC with milliseconds and a ``Z``, e.g. ``2026-11-26T04:15:13.123Z``."""
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _read_counters(clock: Callable[[], float]) -> Counters:
    cpu = psutil.cpu_times()._asdict()
    disk = psutil.disk_io_counters()  # None where the platform has no disk counters
    net = psutil.net_io_counters()
    return Counters(
        t=clock(),
        cpu=cpu,
        disk_read=float(disk.read_bytes) if disk else 0.0,
        disk_write=float(disk.write_bytes) if disk else 0.0,
        disk_reads=float(disk.read_count) if disk else 0.0,
        disk_writes=float(disk.write_count) if disk else 0.0,
        net_rx=float(net.bytes_recv) if net else 0.0,
        net_tx=float(net.bytes_sent) if net else 0.0,
    )


class PsutilSampler:
    """Samples the whole machine from psutil counters; inject ``clock`` and ``host`` in tests."""

    def __init__(self, *, clock: Callable[[], float] = time.time, host: str | None = None) -> None:
        self._clock = clock
        self.host = host if host is not None else socket.gethostname()
        self._prev: Counters | None = None

    def prime(self) -> None:
        """Read the baseline counters; called when sampling (re)starts."""
        self._prev = _read_counters(self._clock)

    def sample(self, seq: int) -> Sample:
        """Rates and percentages since the previous reading."""
        if self._prev is None:
            self.prime()
        prev = self._prev
        assert prev is not None
        cur = _read_counters(self._clock)
        self._prev = cur
        dt = cur.t - prev.t
        cpu = cpu_percent(prev.cpu, cur.cpu)
        memory = psutil.virtual_memory()
        return Sample(
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
        )
