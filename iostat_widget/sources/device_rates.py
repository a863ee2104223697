"""Per-device rates: each disk's and each network interface's counters turned into rates.

iostat lists every device, not just the total; so does the detail stream. Pure (no psutil, no
I/O) so partition filtering and counter maths are tested on plain dictionaries.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Final, NamedTuple

from ..schema import DiskRates, NetRates
from .rates import counter_rate, rounded

__all__ = [
    "DiskCounters",
    "NicCounters",
    "disk_rates",
    "is_loopback_nic",
    "net_rates",
    "whole_disks",
]

#: Pseudo-devices iostat users rarely want: loop mounts, RAM disks.
_PSEUDO_DISK: Final = re.compile(r"^(loop|ram)\d+$")


class DiskCounters(NamedTuple):
    """A disk's cumulative bytes and operations."""

    read_bytes: float
    write_bytes: float
    reads: float
    writes: float


class NicCounters(NamedTuple):
    """An interface's cumulative bytes received and sent."""

    rx_bytes: float
    tx_bytes: float


def whole_disks(names: Iterable[str]) -> list[str]:
    """Disks without their partitions (sda1 of sda, nvme0n1p2 of nvme0n1) and pseudo-devices.

    A partition's traffic is already in its disk's counters; listing both would count it twice.
    """
    present = set(names)
    kept = []
    for name in sorted(present):
        if _PSEUDO_DISK.match(name):
            continue
        parent = re.sub(r"p?\d+$", "", name)
        if parent != name and parent in present:
            continue
        kept.append(name)
    return kept


def is_loopback_nic(name: str) -> bool:
    """The loopback interface carries this machine's talk to itself, not network traffic."""
    return name == "lo" or name.startswith("lo0") or name == "Loopback Pseudo-Interface 1"


def disk_rates(
    prev: Mapping[str, DiskCounters], cur: Mapping[str, DiskCounters], seconds: float
) -> dict[str, DiskRates]:
    """Rates of every disk present in both readings (a disk that just appeared waits a tick)."""
    rates: dict[str, DiskRates] = {}
    for name in whole_disks(cur):
        before, now = prev.get(name), cur[name]
        if before is None:
            continue
        rates[name] = DiskRates(
            read_bps=rounded(counter_rate(before.read_bytes, now.read_bytes, seconds), 0),
            write_bps=rounded(counter_rate(before.write_bytes, now.write_bytes, seconds), 0),
            read_iops=rounded(counter_rate(before.reads, now.reads, seconds)),
            write_iops=rounded(counter_rate(before.writes, now.writes, seconds)),
        )
    return rates


def net_rates(
    prev: Mapping[str, NicCounters], cur: Mapping[str, NicCounters], seconds: float
) -> dict[str, NetRates]:
    """Rates of every non-loopback interface present in both readings."""
    rates: dict[str, NetRates] = {}
    for name in sorted(cur):
        before, now = prev.get(name), cur[name]
        if before is None or is_loopback_nic(name):
            continue
        rates[name] = NetRates(
            rx_bps=rounded(counter_rate(before.rx_bytes, now.rx_bytes, seconds), 0),
            tx_bps=rounded(counter_rate(before.tx_bytes, now.tx_bytes, seconds), 0),
        )
    return rates
