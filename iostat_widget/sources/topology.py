"""Which devices' counters make a machine's totals: the kernel's block and network topology.

The kernel counts one read through an LVM volume three times, on ``dm-0``, on the partition it
sits on and on the disk; a container's download crosses ``eth0``, ``docker0`` and a ``veth``. A
total that adds every device counts the same bytes several times. This module reads the topology
the kernel publishes in sysfs, below an injectable ``root`` (as :mod:`.cgroup` does), and decides:

- **Disks.** A block device is *stacked* when it sits on another device of the same reading: a
  partition on its disk (``/sys/block/D/P/partition``), a device-mapper, md RAID or bcache device
  on its ``slaves``, a loop device on its backing file (``/sys/block/loopN/loop/backing_file``:
  the file's blocks are read from a disk that counts them), a ZFS volume (``zdN``, whose pool's
  disks sysfs does not link) on its pool. The total counts every device that is not stacked,
  once.
- **Network.** An interface is *physical* when ``/sys/class/net/IF/device`` exists (a PCI, USB,
  virtio or Xen device behind it) and it is no port of another physical one (an accelerated
  networking VF under its synthetic NIC); bridges, veth, tun/tap, bond masters, VLANs, ifb and
  loopback are virtual. The total counts the physical interfaces; in a network namespace without
  any (in a container, ``eth0`` is itself a veth) it counts the interfaces that carry traffic of
  their own: no bridge, bridge or bond port, tun/tap, tunnel or VLAN (see :class:`NetTopology`).

Without sysfs (another platform, a container without ``/sys``), names decide what they can: a
partition is stacked when its disk (``sda`` of ``sda1``, ``nvme0n1`` of ``nvme0n1p2``) is in the
reading, a device-mapper, md, bcache or loop device is stacked on the others, and every interface
but loopback counts. Reading the topology
costs a few dozen small reads; :class:`TopologyCache` repeats them only when the set of device
names changes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Collection
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = [
    "BlockTopology",
    "DeviceRoles",
    "NetTopology",
    "TopologyCache",
    "block_roles",
    "is_loopback_nic",
    "name_roles",
    "net_roles",
    "read_block_topology",
    "read_net_topology",
]

_PARTITION_NAME: Final = re.compile(r"^(?P<disk>.+?\d)p\d+$|^(?P<plain>.*\D)\d+$")


def is_loopback_nic(name: str) -> bool:
    """The loopback interface carries this machine's talk to itself, not network traffic."""
    return name == "lo" or name.startswith("lo0") or name == "Loopback Pseudo-Interface 1"


def _listdir(path: Path) -> list[str]:
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


def _sysfs_name(name: str) -> str:
    # /proc/diskstats says "cciss/c0d0" where sysfs says "cciss!c0d0".
    return name.replace("/", "!")


def _diskstats_name(name: str) -> str:
    return name.replace("!", "/")


@dataclass(frozen=True)
class BlockTopology:
    """What each block device sits on; ``stacked`` are those whose traffic another device counts.

    ``below`` maps a device to the devices directly beneath it (a partition's disk, the slaves of
    a device-mapper or md device; ``"file"`` for a loop device's backing file). ``from_sysfs`` is
    False where names alone decided.
    """

    below: dict[str, frozenset[str]]
    from_sysfs: bool

    def stacked(self, names: Collection[str]) -> frozenset[str]:
        """The devices of ``names`` that sit on another device of ``names`` or on a file."""
        present = set(names)
        return frozenset(
            name
            for name in present
            if any(under == "file" or under in present for under in self.below.get(name, ()))
        )

    def counted(self, names: Collection[str]) -> list[str]:
        """The devices of ``names`` a total adds up: every one that is not stacked, sorted."""
        stacked = self.stacked(names)
        return sorted(name for name in names if name not in stacked)


#: Kinds of device that always sit on others: device-mapper, md RAID, bcache, loop (on a file).
_STACKED_KINDS: Final = re.compile(r"^(dm-\d+|md\d+|md_d\d+|bcache\d+|loop\d+|zd\d+)$")
#: Kinds whose disks sysfs does not name: a ZFS volume (``zd0``) is written to its pool's disks.
_POOLED: Final = re.compile(r"^zd\d+$")
#: A path of an NVMe multipath namespace (``nvme0c1n1``, hidden) under its head (``nvme0n1``):
#: a kernel that counts the head's I/O counts each path's again. (An older one counts the paths
#: alone; its head never moves, and the roles are read over devices in use only.)
_NVME_PATH: Final = re.compile(r"^(nvme\d+)c\d+(n\d+)$")


def _nvme_head(name: str) -> str | None:
    match = _NVME_PATH.match(name)
    return match.group(1) + match.group(2) if match else None


def _by_names(names: Collection[str]) -> BlockTopology:
    """Stacking guessed from names alone: a partition sits on its disk when that is listed; a
    device-mapper, md, bcache or loop device sits on the other devices listed (or a file)."""
    below: dict[str, frozenset[str]] = {}
    present = set(names)
    base = frozenset(name for name in present if not _STACKED_KINDS.match(name))
    for name in present:
        match = _PARTITION_NAME.match(name)
        disk = match and (match.group("disk") or match.group("plain"))
        if name.startswith("loop") and _STACKED_KINDS.match(name):
            below[name] = frozenset({"file"})
        elif _STACKED_KINDS.match(name):
            below[name] = base  # none listed: it is all there is, and counts
        elif (head := _nvme_head(name)) is not None:
            below[name] = frozenset({head})
        elif disk and disk in present:
            below[name] = frozenset({disk})
    return BlockTopology(below, from_sysfs=False)


def read_block_topology(names: Collection[str], root: Path = Path("/")) -> BlockTopology:
    """The stacking of the block devices ``names`` (as /proc/diskstats spells them).

    Reads ``root/sys/block``: each whole device's ``slaves``, its partitions (subdirectories with
    a ``partition`` file) and, for loop devices, ``loop/backing_file``. Falls back to names
    (:func:`_by_names`) when ``root/sys/block`` cannot be listed. Never raises for a missing or
    unreadable file: a device with no readable topology sits on nothing.
    """
    block = root / "sys" / "block"
    entries = _listdir(block)
    if not entries:
        return _by_names(names)
    below: dict[str, set[str]] = {}
    for entry in entries:
        device = _diskstats_name(entry)
        slaves = {_diskstats_name(slave) for slave in _listdir(block / entry / "slaves")}
        if slaves:
            below.setdefault(device, set()).update(slaves)
        if (block / entry / "loop" / "backing_file").is_file():
            below.setdefault(device, set()).add("file")
        if _POOLED.match(entry):  # on the pool's disks, which sysfs does not link
            below.setdefault(device, set()).add("file")
        if (head := _nvme_head(entry)) is not None:
            below.setdefault(device, set()).add(head)
        for child in _listdir(block / entry):
            if child.startswith(entry) and (block / entry / child / "partition").is_file():
                partition = _diskstats_name(child)
                below.setdefault(partition, set()).add(device)
                for slave in _listdir(block / entry / child / "slaves"):  # rare, but possible
                    below[partition].add(_diskstats_name(slave))
    wanted = {_sysfs_name(name) for name in names} | set(names)
    return BlockTopology(
        {name: frozenset(under) for name, under in below.items() if name in wanted},
        from_sysfs=True,
    )


@dataclass(frozen=True)
class NetTopology:
    """What sysfs says of each interface; ``physical`` is None where sysfs could not tell.

    ``physical``: a device is behind it (and it is not a port of another physical interface, as
    an accelerated-networking VF is of its synthetic NIC). ``carriers``: among the others, those
    that carry traffic of their own, for a namespace with no physical interface: an Ethernet-like
    link (``type`` 1) that is no bridge, no port of a bridge or bond (``master``), no tun/tap
    (``tun_flags``), sits on no other interface (``lower_*``) and has no name the usual tools
    give relays (``veth…``, ``docker0``, ``br-…``, ``cali…``, ``flannel…``, ``wg…``, …); a
    WireGuard, GRE or IPIP tunnel (another ``type``) carries what another interface also
    carries, encapsulated.
    """

    physical: frozenset[str] | None
    carriers: frozenset[str] = frozenset()

    def virtual(self, names: Collection[str]) -> frozenset[str]:
        """Interfaces of ``names`` with no device behind them (loopback included)."""
        if self.physical is None:
            return frozenset(name for name in names if is_loopback_nic(name))
        return frozenset(name for name in names if name not in self.physical)

    def counted(self, names: Collection[str]) -> list[str]:
        """The interfaces a total adds up, sorted: the physical ones; where there is none, the
        carriers; where there is none of those either, every one but loopback."""
        outside = [name for name in names if not is_loopback_nic(name)]
        if self.physical is not None:
            for kind in (self.physical, self.carriers):
                chosen = [name for name in outside if name in kind]
                if chosen:
                    return sorted(chosen)
        return sorted(outside)


#: Names the usual tools give to interfaces that relay another's traffic (bridges and their
#: ports, a container's host-side veth, overlay and VPN tunnels): where sysfs leaves out a
#: ``master`` or ``type`` (a sysfs view of another namespace), the name still tells.
_RELAYS: Final = re.compile(
    r"^(veth|docker|br-|virbr|lxdbr|cni|cali|lxc|flannel|vxlan|genev|weave|ovs-|tun|tap|wg"
    r"|tailscale|zt|ifb|dummy|kube-ipvs|nodelocaldns)"
)


def _interface_type(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _master(net: Path, name: str) -> str | None:
    try:
        return os.path.basename(os.readlink(net / name / "master"))
    except OSError:
        return None


def read_net_topology(names: Collection[str], root: Path = Path("/")) -> NetTopology:
    """What ``root/sys/class/net`` says of ``names`` (see :class:`NetTopology`).

    Where it cannot be listed (another platform, no sysfs), nothing is known and every interface
    but loopback counts. A missing attribute counts as absent (``type`` as Ethernet).
    """
    net = root / "sys" / "class" / "net"
    if not _listdir(net):
        return NetTopology(None)
    with_device = {name for name in names if os.path.lexists(net / name / "device")}
    masters = {name: _master(net, name) for name in names}
    physical = frozenset(name for name in with_device if masters[name] not in with_device)
    carriers = frozenset(
        name
        for name in names
        if name not in with_device
        and not is_loopback_nic(name)
        and not _RELAYS.match(name)
        and masters[name] is None
        and _interface_type(net / name / "type") in (None, 1)
        and not (net / name / "bridge").is_dir()
        and not (net / name / "tun_flags").exists()
        and not any(entry.startswith("lower_") for entry in _listdir(net / name))
    )
    return NetTopology(physical, carriers)


@dataclass(frozen=True)
class DeviceRoles:
    """One reading's devices sorted into those a total counts and those marked in the detail
    stream (``stacked`` disks, ``virtual`` interfaces)."""

    counted: frozenset[str]
    marked: frozenset[str]


class TopologyCache:
    """Sorts device names into :class:`DeviceRoles`, calling ``read(names)`` again only when the
    set of names changes.

    Devices come and go rarely (a disk attached, a container started); reading sysfs every tick
    would cost more than the counters themselves.
    """

    def __init__(self, read: Callable[[frozenset[str]], DeviceRoles]) -> None:
        self._read = read
        self._names: frozenset[str] | None = None
        self._roles = DeviceRoles(frozenset(), frozenset())
        self.reads = 0  #: how many times the topology was read

    def get(self, names: Collection[str]) -> DeviceRoles:
        """The roles of ``names``, read afresh when they differ from the last call's."""
        if not isinstance(names, AbstractSet):  # a dict's keys are a set already
            names = frozenset(names)
        if self._names is None or self._names != names:
            self._names = frozenset(names)
            self._roles = self._read(self._names)
            self.reads += 1
        return self._roles


def name_roles(names: frozenset[str]) -> DeviceRoles:
    """Disks a total counts and those marked ``stacked``, from the names alone (no sysfs): for
    a report that names devices, such as iostat's, where nothing else is known."""
    topology = _by_names(names)
    return DeviceRoles(frozenset(topology.counted(names)), topology.stacked(names))


def block_roles(names: frozenset[str], root: Path = Path("/")) -> DeviceRoles:
    """Disks a total counts (not stacked) and those marked ``stacked``, read below ``root``."""
    topology = read_block_topology(names, root)
    return DeviceRoles(frozenset(topology.counted(names)), topology.stacked(names))


def net_roles(names: frozenset[str], root: Path = Path("/")) -> DeviceRoles:
    """Interfaces a total counts and those marked ``virtual``, read below ``root``."""
    topology = read_net_topology(names, root)
    return DeviceRoles(frozenset(topology.counted(names)), topology.virtual(names))
