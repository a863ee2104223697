"""A deterministic source: samples computed from their number, not read from the machine.

Tests, benchmarks and demos need a feed whose every value is known in advance (and one that costs
nothing to produce) to tell a transport's behaviour apart from the machine's noise.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from ..schema import (
    CpuPercent,
    DeviceDiskRates,
    DeviceNetRates,
    DiskRates,
    GpuFigures,
    MemUsage,
    NetRates,
    Sample,
    Scope,
)
from .base import iso_date
from .rates import rounded

__all__ = ["SyntheticSampler", "synthetic_gpus", "synthetic_sample"]


def synthetic_gpus(seq: int, count: int) -> list[GpuFigures]:
    """``count`` GPUs: each a wave of utilization shifted by its index, memory filling up."""
    return [
        GpuFigures(
            index=i,
            name="Synthetic GPU",
            util_pct=rounded(50.0 + 45.0 * math.sin(seq / 4.0 + i)),
            mem_used_pct=rounded(20.0 + 10.0 * i + (seq % 10)),
        )
        for i in range(count)
    ]


def synthetic_sample(
    seq: int,
    t: float,
    *,
    host: str = "synthetic",
    interval: float = 1.0,
    scope: Scope = "host",
    gpus: int = 0,
) -> Sample:
    """The sample numbered ``seq``: a slow wave of user time over a steady system share, and
    ``gpus`` GPUs (:func:`synthetic_gpus`; none: no ``gpu`` key)."""
    us = rounded(30.0 + 25.0 * math.sin(seq / 5.0))
    sy = rounded(5.0 + (seq % 7))
    sample = Sample(
        seq=seq,
        t=round(t, 3),
        date=iso_date(t),
        host=host,
        interval=interval,
        cpu=CpuPercent(us=us, sy=sy, id=rounded(100.0 - us - sy), wa=0, st=0, irq=0.5),
        disk=DiskRates(read_bps=1000 * (seq % 3), write_bps=4096, read_iops=seq % 3, write_iops=1),
        net=NetRates(rx_bps=100 * seq, tx_bps=50 * seq),
        mem=MemUsage(used_pct=42.5, avail_bytes=8 * 2**30),
        scope=scope,
    )
    if gpus:
        sample["gpu"] = synthetic_gpus(seq, gpus)
    return sample


class SyntheticSampler:
    """A :class:`~iostat_widget.sources.psutil_sampler.Sampler` of :func:`synthetic_sample`\\ s."""

    def __init__(
        self,
        *,
        host: str = "synthetic",
        interval: float = 1.0,
        clock: Callable[[], float] = time.time,
        scope: Scope = "host",
        detail: bool = False,
        gpus: int = 0,
    ) -> None:
        self.host = host
        self.scope: Scope = scope
        self.detail = detail  #: add two disks and one interface, as a detail stream carries
        self.gpus = gpus  #: how many GPUs the samples carry (at most 6: memory stays under 100 %)
        self.interval = interval
        self._clock = clock
        self.primed = 0  #: how many times sampling (re)started
        self.calls = 0  #: how many samples were taken

    def prime(self) -> None:
        """Count the (re)start; there are no counters to read."""
        self.primed += 1

    def sample(self, seq: int) -> Sample:
        """The sample numbered ``seq``, stamped with the clock's time."""
        self.calls += 1
        sample = synthetic_sample(
            seq,
            self._clock(),
            host=self.host,
            interval=self.interval,
            scope=self.scope,
            gpus=self.gpus,
        )
        if self.detail:
            sample["disks"] = {
                "sda": DeviceDiskRates(
                    read_bps=1000 * (seq % 3),
                    write_bps=0,
                    read_iops=seq % 3,
                    write_iops=0,
                    stacked=False,
                ),
                "sdb": DeviceDiskRates(
                    read_bps=0, write_bps=4096, read_iops=0, write_iops=1, stacked=False
                ),
            }
            sample["nics"] = {
                "eth0": DeviceNetRates(rx_bps=100 * seq, tx_bps=50 * seq, virtual=False)
            }
        return sample
