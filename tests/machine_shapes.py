"""Machines shaped like real ones, for the sampler: sysfs trees and psutil-shaped counters.

A :class:`FakeCounters` stands in for psutil at the sampler's one seam (``counters=``): tests set
each device's cumulative counters, take a sample, advance them by what "happened", and take
another. The sysfs builders lay out what the kernel publishes for each topology below a
``tmp_path`` root, which the sampler reads as if it were ``/``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

MiB = 2**20
GiB = 2**30


class DiskIo(NamedTuple):  # psutil's sdiskio, the fields the sampler reads
    read_count: int
    write_count: int
    read_bytes: int
    write_bytes: int


class NicIo(NamedTuple):  # psutil's snetio, the fields the sampler reads
    bytes_sent: int
    bytes_recv: int


class CpuTimes(NamedTuple):  # psutil's scputimes on Linux, in seconds
    user: float = 0.0
    nice: float = 0.0
    system: float = 0.0
    idle: float = 0.0
    iowait: float = 0.0
    irq: float = 0.0
    softirq: float = 0.0
    steal: float = 0.0


class Memory(NamedTuple):  # psutil's svmem, the fields the sampler reads
    total: int
    available: int
    percent: float


@dataclass
class FakeCounters:
    """psutil-shaped readings the test sets by hand; ``cpus`` is the machine's CPU count."""

    cpus: int = 2
    cpu: CpuTimes = field(default_factory=lambda: CpuTimes(user=100.0, system=50.0, idle=1e3))
    disks: dict[str, DiskIo] = field(default_factory=dict)
    nics: dict[str, NicIo] = field(default_factory=dict)
    memory: Memory = field(default_factory=lambda: Memory(8 * GiB, 6 * GiB, 25.0))

    def cpu_times(self) -> CpuTimes:
        return self.cpu

    def cpu_count(self) -> int:
        return self.cpus

    def virtual_memory(self) -> Memory:
        return self.memory

    def disk_io_counters(self, perdisk: bool, nowrap: bool) -> dict[str, DiskIo]:
        assert perdisk and not nowrap
        return dict(self.disks)

    def net_io_counters(self, pernic: bool, nowrap: bool) -> dict[str, NicIo]:
        assert pernic and not nowrap
        return dict(self.nics)

    def read(self, devices: Iterable[str], nbytes: int) -> None:
        """``nbytes`` read, seen on each of ``devices`` (as the kernel counts a stacked read)."""
        for name in devices:
            d = self.disks[name]
            self.disks[name] = d._replace(
                read_bytes=d.read_bytes + nbytes, read_count=d.read_count + nbytes // 4096
            )

    def write(self, devices: Iterable[str], nbytes: int) -> None:
        """``nbytes`` written, seen on each of ``devices``."""
        for name in devices:
            d = self.disks[name]
            self.disks[name] = d._replace(
                write_bytes=d.write_bytes + nbytes, write_count=d.write_count + nbytes // 4096
            )

    def traffic(self, name: str, *, rx: int = 0, tx: int = 0) -> None:
        """``rx`` bytes received and ``tx`` sent on interface ``name``."""
        n = self.nics[name]
        self.nics[name] = NicIo(bytes_sent=n.bytes_sent + tx, bytes_recv=n.bytes_recv + rx)

    def busy(self, seconds: float, *, user: float, system: float = 0.0) -> None:
        """``seconds`` of wall time over all CPUs: ``user`` and ``system`` CPU-seconds busy."""
        idle = self.cpus * seconds - user - system
        c = self.cpu
        self.cpu = c._replace(
            user=c.user + user, system=c.system + system, idle=c.idle + max(idle, 0.0)
        )


def touch(path: Path, text: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def block_device(
    root: Path, name: str, *, partitions: Iterable[str] = (), slaves: Iterable[str] = ()
) -> None:
    """/sys/block/NAME with its partitions (each with a ``partition`` file) and ``slaves``."""
    base = root / "sys/block" / name
    (base / "slaves").mkdir(parents=True, exist_ok=True)
    (base / "holders").mkdir(parents=True, exist_ok=True)
    touch(base / "stat", "0 0 0 0 0 0 0 0 0 0 0\n")
    for number, partition in enumerate(partitions, 1):
        touch(base / partition / "partition", f"{number}\n")
    for slave in slaves:
        touch(base / "slaves" / slave)


def loop_device(root: Path, name: str, backing_file: str | None) -> None:
    block_device(root, name)
    if backing_file is not None:
        touch(root / "sys/block" / name / "loop/backing_file", backing_file + "\n")


def interface(
    root: Path,
    name: str,
    *,
    physical: bool,
    master: str | None = None,
    kind: int = 1,
    bridge: bool = False,
    tun: bool = False,
    lower: str | None = None,
) -> None:
    """/sys/class/net/NAME, with a ``device`` entry when a real device is behind it, a ``master``
    link (a bridge or bond port), ``type`` (1: Ethernet; 65534: WireGuard, tun), a ``bridge/``
    directory, ``tun_flags`` and a ``lower_*`` link (a VLAN or macvlan on ``lower``)."""
    base = root / "sys/class/net" / name
    base.mkdir(parents=True, exist_ok=True)
    touch(base / "operstate", "up\n")
    touch(base / "type", f"{kind}\n")
    if physical:
        (base / "device").mkdir()
    if master is not None:
        (base / "master").symlink_to(f"../{master}")
    if bridge:
        (base / "bridge").mkdir()
    if tun:
        touch(base / "tun_flags", "0x1002\n")
    if lower is not None:
        (base / f"lower_{lower}").symlink_to(f"../{lower}")


def disk_io(read_bytes: int = 0, write_bytes: int = 0) -> DiskIo:
    return DiskIo(read_bytes // 4096, write_bytes // 4096, read_bytes, write_bytes)


def lvm_machine(root: Path) -> FakeCounters:
    """``sda`` → ``sda1`` (/boot), ``sda2`` → ``dm-0`` (an LVM volume), plus ``sr0``, ``loop0``."""
    block_device(root, "sda", partitions=("sda1", "sda2"))
    block_device(root, "dm-0", slaves=("sda2",))
    block_device(root, "sr0")
    loop_device(root, "loop0", None)
    start = {"sda": 10 * GiB, "sda1": GiB, "sda2": 9 * GiB, "dm-0": 9 * GiB}
    disks = {name: disk_io(size, size // 2) for name, size in start.items()}
    disks |= {"sr0": disk_io(), "loop0": disk_io()}
    return FakeCounters(disks=disks)
