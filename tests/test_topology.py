"""Which devices make the totals, decided from sysfs fixture trees shaped like real machines."""

from __future__ import annotations

from pathlib import Path

import pytest

from iostat_widget.sources.topology import (
    DeviceRoles,
    TopologyCache,
    block_roles,
    is_loopback_nic,
    net_roles,
    read_block_topology,
    read_net_topology,
)

from .machine_shapes import block_device, interface, loop_device


def counted_and_stacked(root: Path, names: list[str]) -> tuple[list[str], list[str]]:
    topology = read_block_topology(names, root)
    return topology.counted(names), sorted(topology.stacked(names))


# -- block devices --------------------------------------------------------------------------------
def test_lvm_volume_counts_once_on_its_disk(tmp_path: Path) -> None:
    block_device(tmp_path, "sda", partitions=("sda1", "sda2"))
    block_device(tmp_path, "dm-0", slaves=("sda2",))
    block_device(tmp_path, "dm-1", slaves=("sda2",))
    names = ["sda", "sda1", "sda2", "dm-0", "dm-1"]
    assert counted_and_stacked(tmp_path, names) == (["sda"], ["dm-0", "dm-1", "sda1", "sda2"])


def test_md_raid_with_partitions_and_lvm_on_top(tmp_path: Path) -> None:
    block_device(tmp_path, "sda", partitions=("sda1",))
    block_device(tmp_path, "sdb", partitions=("sdb1",))
    block_device(tmp_path, "md127", partitions=("md127p1",), slaves=("sda1", "sdb1"))
    block_device(tmp_path, "dm-0", slaves=("md127p1",))
    names = ["sda", "sda1", "sdb", "sdb1", "md127", "md127p1", "dm-0"]
    counted, stacked = counted_and_stacked(tmp_path, names)
    assert counted == ["sda", "sdb"]  # each mirror half is real disk traffic
    assert stacked == ["dm-0", "md127", "md127p1", "sda1", "sdb1"]


def test_bcache_dm_crypt_and_nvme_partitions(tmp_path: Path) -> None:
    block_device(tmp_path, "nvme0n1", partitions=("nvme0n1p1", "nvme0n1p2"))
    block_device(tmp_path, "sdb")
    block_device(tmp_path, "bcache0", slaves=("sdb", "nvme0n1p2"))
    block_device(tmp_path, "dm-3", slaves=("bcache0",))  # dm-crypt on the cached device
    block_device(tmp_path, "mmcblk0", partitions=("mmcblk0p1",))
    names = ["nvme0n1", "nvme0n1p1", "nvme0n1p2", "sdb", "bcache0", "dm-3", "mmcblk0", "mmcblk0p1"]
    counted, stacked = counted_and_stacked(tmp_path, names)
    assert counted == ["mmcblk0", "nvme0n1", "sdb"]
    assert stacked == ["bcache0", "dm-3", "mmcblk0p1", "nvme0n1p1", "nvme0n1p2"]


def test_loop_device_on_a_file_is_stacked_an_unbacked_one_is_not(tmp_path: Path) -> None:
    block_device(tmp_path, "vda", partitions=("vda1",))
    loop_device(tmp_path, "loop0", "/var/lib/snapd/snaps/core_1.snap")
    loop_device(tmp_path, "loop1", None)  # no file attached: nothing beneath it
    block_device(tmp_path, "zram0")  # compressed RAM: a device of its own
    names = ["vda", "vda1", "loop0", "loop1", "zram0"]
    assert counted_and_stacked(tmp_path, names) == (["loop1", "vda", "zram0"], ["loop0", "vda1"])


def test_a_device_on_devices_not_in_the_reading_counts(tmp_path: Path) -> None:
    # A volume whose disks the kernel does not list (e.g. on another namespace's view) carries
    # traffic nothing else counts: it is counted itself.
    block_device(tmp_path, "dm-0", slaves=("sdz1",))
    assert counted_and_stacked(tmp_path, ["dm-0"]) == (["dm-0"], [])


def test_sysfs_names_with_a_bang_match_diskstats_names_with_a_slash(tmp_path: Path) -> None:
    block_device(tmp_path, "cciss!c0d0", partitions=("cciss!c0d0p1",))
    names = ["cciss/c0d0", "cciss/c0d0p1"]
    assert counted_and_stacked(tmp_path, names) == (["cciss/c0d0"], ["cciss/c0d0p1"])


@pytest.mark.parametrize(
    ("names", "counted"),
    [
        (["sda", "sda1", "sda2", "sdb"], ["sda", "sdb"]),
        (["nvme0n1", "nvme0n1p1", "nvme0n1p2"], ["nvme0n1"]),
        (["vda", "loop0", "loop12", "zram0"], ["vda", "zram0"]),
        (["mmcblk0", "mmcblk0p1"], ["mmcblk0"]),
        (["sda1"], ["sda1"]),  # a partition whose disk is not listed is all there is
        (["dm-0", "md127"], ["dm-0", "md127"]),  # nothing listed beneath them: they count
        (["sda", "sda2", "dm-0"], ["sda"]),  # an LVM volume on sda2
        (["sda", "sdb", "md0", "md0p1", "dm-3", "bcache0"], ["sda", "sdb"]),
    ],
)
def test_without_sysfs_names_decide(tmp_path: Path, names: list[str], counted: list[str]) -> None:
    topology = read_block_topology(names, tmp_path)
    assert not topology.from_sysfs
    assert topology.counted(names) == counted


# -- network interfaces ---------------------------------------------------------------------------
def test_docker_host_counts_the_physical_interface_only(tmp_path: Path) -> None:
    interface(tmp_path, "eth0", physical=True)
    for name in ("lo", "docker0", "veth1a2b3c", "br-5f0c", "tun0", "ifb0"):
        interface(tmp_path, name, physical=False)
    names = ["eth0", "lo", "docker0", "veth1a2b3c", "br-5f0c", "tun0", "ifb0"]
    topology = read_net_topology(names, tmp_path)
    assert topology.counted(names) == ["eth0"]
    assert topology.virtual(names) == {"lo", "docker0", "veth1a2b3c", "br-5f0c", "tun0", "ifb0"}


def test_bond_and_vlan_count_their_physical_members(tmp_path: Path) -> None:
    for name in ("eno1", "eno2"):
        interface(tmp_path, name, physical=True)
    for name in ("bond0", "bond0.100", "lo"):
        interface(tmp_path, name, physical=False)
    names = ["eno1", "eno2", "bond0", "bond0.100", "lo"]
    assert read_net_topology(names, tmp_path).counted(names) == ["eno1", "eno2"]


def test_container_namespace_without_physical_interfaces_counts_all_but_loopback(
    tmp_path: Path,
) -> None:
    for name in ("lo", "eth0", "eth1"):  # inside a container eth0 is one end of a veth pair
        interface(tmp_path, name, physical=False)
    topology = read_net_topology(["lo", "eth0", "eth1"], tmp_path)
    assert topology.counted(["lo", "eth0", "eth1"]) == ["eth0", "eth1"]


def test_without_sysfs_every_interface_but_loopback_counts(tmp_path: Path) -> None:
    topology = read_net_topology(["lo0", "en0", "utun3"], tmp_path)
    assert topology.physical is None
    assert topology.counted(["lo0", "en0", "utun3"]) == ["en0", "utun3"]
    assert topology.virtual(["lo0", "en0"]) == {"lo0"}


def test_loopback_names() -> None:
    assert is_loopback_nic("lo") and is_loopback_nic("lo0")
    assert not is_loopback_nic("eth0") and not is_loopback_nic("local1")


def test_this_machines_topology_is_read_from_its_sysfs() -> None:
    names = [p.name for p in Path("/sys/class/net").iterdir()]
    topology = read_net_topology(names, Path("/"))
    assert topology.physical is not None
    assert "lo" not in topology.physical


def test_cache_reads_again_only_when_the_device_set_changes() -> None:
    seen: list[frozenset[str]] = []

    def read(names: frozenset[str]) -> DeviceRoles:
        seen.append(names)
        return DeviceRoles(names, frozenset())

    cache = TopologyCache(read)
    assert cache.get({"sda": 1, "sdb": 2}.keys()).counted == {"sda", "sdb"}
    assert cache.get(["sdb", "sda"]).counted == {"sda", "sdb"}  # same set: no new read
    assert cache.get(["sda"]).counted == {"sda"}  # sdb detached
    assert cache.reads == 2 and seen == [frozenset({"sda", "sdb"}), frozenset({"sda"})]


def test_roles_of_an_lvm_machine_and_a_docker_host(tmp_path: Path) -> None:
    block_device(tmp_path, "sda", partitions=("sda1",))
    block_device(tmp_path, "dm-0", slaves=("sda1",))
    roles = block_roles(frozenset({"sda", "sda1", "dm-0"}), tmp_path)
    assert roles == DeviceRoles(frozenset({"sda"}), frozenset({"sda1", "dm-0"}))
    interface(tmp_path, "eth0", physical=True)
    interface(tmp_path, "docker0", physical=False)
    roles = net_roles(frozenset({"eth0", "docker0", "lo"}), tmp_path)
    assert roles == DeviceRoles(frozenset({"eth0"}), frozenset({"docker0", "lo"}))


def test_docker_in_docker_counts_the_containers_own_uplink(tmp_path: Path) -> None:
    interface(tmp_path, "lo", physical=False)
    interface(tmp_path, "eth0", physical=False)  # the outer container's veth
    interface(tmp_path, "docker0", physical=False, bridge=True)
    interface(tmp_path, "veth5e1f", physical=False, master="docker0")  # an inner container's
    names = ["lo", "eth0", "docker0", "veth5e1f"]
    assert read_net_topology(names, tmp_path).counted(names) == ["eth0"]


def test_a_container_with_a_wireguard_or_vpn_tunnel_counts_the_link_beneath(
    tmp_path: Path,
) -> None:
    interface(tmp_path, "eth0", physical=False)
    interface(tmp_path, "wg0", physical=False, kind=65534)  # WireGuard: no Ethernet header
    interface(tmp_path, "tun0", physical=False, kind=65534, tun=True)
    interface(tmp_path, "tap1", physical=False, tun=True)
    interface(tmp_path, "eth0.42", physical=False, lower="eth0")  # a VLAN on eth0
    names = ["eth0", "wg0", "tun0", "tap1", "eth0.42"]
    assert read_net_topology(names, tmp_path).counted(names) == ["eth0"]


def test_accelerated_networking_vf_is_counted_in_its_synthetic_nic(tmp_path: Path) -> None:
    # Azure: eth0 (hv_netvsc) already counts what its VF enP1234s1 moves.
    interface(tmp_path, "eth0", physical=True)
    interface(tmp_path, "enP1234s1", physical=True, master="eth0")
    names = ["eth0", "enP1234s1", "lo"]
    topology = read_net_topology(names, tmp_path)
    assert topology.counted(names) == ["eth0"]
    assert "enP1234s1" in topology.virtual(names)  # marked: not in the total


def test_bond_slaves_are_physical_even_with_a_master(tmp_path: Path) -> None:
    interface(tmp_path, "bond0", physical=False)
    for name in ("eno1", "eno2"):
        interface(tmp_path, name, physical=True, master="bond0")
    names = ["bond0", "eno1", "eno2"]
    assert read_net_topology(names, tmp_path).counted(names) == ["eno1", "eno2"]
