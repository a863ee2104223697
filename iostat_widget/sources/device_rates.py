"""Per-device rates and the machine's totals, from two readings of each device's counters.

iostat lists every device, not just the total; so does the detail stream, each device marked
``stacked`` (disks) or ``virtual`` (interfaces) as :mod:`.topology` decides. A total is the sum of
each counted device's own growth between the two readings, over the devices present in both: a
disk detached or an interface added between two readings changes the set, and a difference of
sums would read that as a burst (a new device's whole history) or a drop. Pure (no psutil, no
I/O) so the maths is tested on plain dictionaries.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Final, NamedTuple

from ..schema import DeviceDiskRates, DeviceNetRates, DiskRates, NetRates
from .rates import WORD_TOPS, counter_delta, rounded
from .topology import is_loopback_nic

__all__ = ["DiskCounters", "NicCounters", "disk_figures", "net_figures"]


#: The kernel counts a disk's bytes in 512-byte sectors held in a word: they wrap at 512 words.
_SECTOR_TOPS: Final = tuple(512 * top for top in WORD_TOPS)
_DISK_TOPS: Final = (_SECTOR_TOPS, _SECTOR_TOPS, WORD_TOPS, WORD_TOPS)
_NIC_TOPS: Final = (WORD_TOPS, WORD_TOPS)


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


def _per_second(
    prev: Mapping[str, tuple[float, ...]],
    cur: Mapping[str, tuple[float, ...]],
    seconds: float,
    tops: tuple[tuple[float, ...], ...],
) -> dict[str, list[float]]:
    """Each device's growth per field per second, for the devices present in both readings.

    A device whose counters are all zero has never been used since boot (an unattached loop
    device): like iostat, leave it out.
    """
    rates: dict[str, list[float]] = {}
    for name, now in cur.items():
        before = prev.get(name)
        if before is None or not any(now):
            continue
        if seconds <= 0:
            rates[name] = [0.0] * len(now)
        else:
            rates[name] = [
                counter_delta(b, n, top) / seconds
                for b, n, top in zip(before, now, tops, strict=True)
            ]
    return rates


def _total(rates: dict[str, list[float]], counted: Collection[str], fields: int) -> list[float]:
    totals = [0.0] * fields
    for name in counted:
        values = rates.get(name)
        if values is not None:
            totals = [total + value for total, value in zip(totals, values, strict=True)]
    return totals


def _disk_rates(values: Sequence[float]) -> DiskRates:
    read, write, reads, writes = values
    return DiskRates(
        read_bps=rounded(read, 0),
        write_bps=rounded(write, 0),
        read_iops=rounded(reads),
        write_iops=rounded(writes),
    )


def disk_figures(
    prev: Mapping[str, DiskCounters],
    cur: Mapping[str, DiskCounters],
    seconds: float,
    counted: Collection[str],
    stacked: Collection[str] = frozenset(),
) -> tuple[DiskRates, dict[str, DeviceDiskRates]]:
    """The total over the ``counted`` devices and every device's own rates, in one pass.

    Bytes and operations per second over ``seconds``, for the devices present in both readings
    (a device that just appeared waits a tick; one that went away is left out; one never used
    since boot is not listed), each device marked ``stacked`` or not.
    """
    rates = _per_second(prev, cur, seconds, _DISK_TOPS)
    total = _disk_rates(_total(rates, counted, 4))
    devices = {
        name: DeviceDiskRates(**_disk_rates(values), stacked=name in stacked)
        for name, values in sorted(rates.items())
    }
    return total, devices


def net_figures(
    prev: Mapping[str, NicCounters],
    cur: Mapping[str, NicCounters],
    seconds: float,
    counted: Collection[str],
    virtual: Collection[str] = frozenset(),
) -> tuple[NetRates, dict[str, DeviceNetRates]]:
    """The total over the ``counted`` interfaces and every interface's own rates but loopback's,
    in one pass: bytes per second received and sent, each interface marked ``virtual`` or not."""
    rates = _per_second(prev, cur, seconds, _NIC_TOPS)
    rx, tx = _total(rates, counted, 2)
    devices = {
        name: DeviceNetRates(
            rx_bps=rounded(values[0], 0), tx_bps=rounded(values[1], 0), virtual=name in virtual
        )
        for name, values in sorted(rates.items())
        if not is_loopback_nic(name)
    }
    return NetRates(rx_bps=rounded(rx, 0), tx_bps=rounded(tx, 0)), devices
