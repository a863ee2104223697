"""The sampler on machines shaped like real ones: LVM, Docker, pinned containers, stepped clocks.

Each test lays a sysfs/cgroup fixture tree below ``tmp_path``, feeds psutil-shaped counters
through the sampler's ``counters`` seam, advances them by what happened in one interval, and
checks the sample says what happened.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from iostat_widget.schema import Sample, decode_sample, encode_sample, validate_sample
from iostat_widget.sources.base import NoReading
from iostat_widget.sources.psutil_sampler import PsutilSampler

from .machine_shapes import (
    FakeCounters,
    GiB,
    MiB,
    NicIo,
    block_device,
    disk_io,
    interface,
    lvm_machine,
    touch,
)
from .test_cgroup import v1_tree, v2_tree, write


def ticking(start: float, step: float) -> itertools.count[float]:
    return itertools.count(start, step)


def sampler_for(root: Path, fake: FakeCounters, *, step: float = 1.0) -> PsutilSampler:
    """A sampler over ``root`` and ``fake`` whose clocks advance ``step`` s per reading."""
    wall, elapsed = ticking(1_800_000_000.0, step), ticking(5_000.0, step)
    return PsutilSampler(
        clock=lambda: next(wall),
        elapsed_clock=lambda: next(elapsed),
        host="shaped",
        root=root,
        environ={},
        counters=fake,
    )


def one_interval(sampler: PsutilSampler, happen: object = None) -> Sample:
    """Prime, let ``happen()`` change the counters, and return the validated sample."""
    sampler.prime()
    if callable(happen):
        happen()
    sample = sampler.sample(0)
    assert validate_sample(sample) == sample
    return sample


# -- disks ----------------------------------------------------------------------------------------
def test_a_read_through_an_lvm_volume_counts_once(tmp_path: Path) -> None:
    fake = lvm_machine(tmp_path)
    sample = one_interval(
        sampler_for(tmp_path, fake), lambda: fake.read(["dm-0", "sda2", "sda"], 100 * MiB)
    )
    assert sample["disk"]["read_bps"] == 104_857_600  # was 209,715,200: sda and dm-0 both
    assert sample["disk"]["write_bps"] == 0
    disks = sample["disks"]
    # Every device used since boot is listed (sr0 and loop0 never were, as iostat leaves out).
    assert set(disks) == {"sda", "sda1", "sda2", "dm-0"}
    assert {name for name, rates in disks.items() if rates["stacked"]} == {"sda1", "sda2", "dm-0"}
    assert disks["dm-0"]["read_bps"] == disks["sda"]["read_bps"] == 104_857_600


def test_md_raid1_counts_both_mirror_halves_and_not_the_array(tmp_path: Path) -> None:
    block_device(tmp_path, "sda", partitions=("sda1",))
    block_device(tmp_path, "sdb", partitions=("sdb1",))
    block_device(tmp_path, "md0", slaves=("sda1", "sdb1"))
    fake = FakeCounters(disks={n: disk_io() for n in ("sda", "sda1", "sdb", "sdb1", "md0")})

    def write_mirrored() -> None:
        fake.write(["md0"], 10 * MiB)  # 10 MiB to the array lands on each half
        fake.write(["sda1", "sda", "sdb1", "sdb"], 10 * MiB)

    sample = one_interval(sampler_for(tmp_path, fake), write_mirrored)
    assert sample["disk"]["write_bps"] == 20 * MiB  # what the disks really wrote


def test_a_loop_device_on_a_file_is_not_counted_again(tmp_path: Path) -> None:
    block_device(tmp_path, "nvme0n1", partitions=("nvme0n1p1",))
    touch(tmp_path / "sys/block/loop3/loop/backing_file", "/var/lib/snapd/snaps/x.snap\n")
    fake = FakeCounters(disks={n: disk_io() for n in ("nvme0n1", "nvme0n1p1", "loop3")})
    sample = one_interval(
        sampler_for(tmp_path, fake), lambda: fake.read(["loop3", "nvme0n1p1", "nvme0n1"], MiB)
    )
    assert sample["disk"]["read_bps"] == MiB
    assert sample["disks"]["loop3"]["stacked"] is True


def test_a_disk_attached_or_detached_between_readings(tmp_path: Path) -> None:
    block_device(tmp_path, "sda")
    fake = FakeCounters(disks={"sda": disk_io(GiB := 2**30), "sdb": disk_io(40 * GiB)})
    sampler = sampler_for(tmp_path, fake)
    sampler.prime()
    del fake.disks["sdb"]  # detached
    fake.read(["sda"], MiB)
    assert sampler.sample(0)["disk"]["read_bps"] == MiB  # was 0: the total went down
    block_device(tmp_path, "sdc")
    fake.disks["sdc"] = disk_io(500 * GiB)  # attached, with a long past of its own
    fake.read(["sda"], 2 * MiB)
    assert sampler.sample(1)["disk"]["read_bps"] == 2 * MiB  # was 500 GiB/s
    fake.read(["sdc"], 3 * MiB)
    assert sampler.sample(2)["disk"]["read_bps"] == 3 * MiB  # counted from its second reading


# -- network --------------------------------------------------------------------------------------
def docker_host(root: Path) -> FakeCounters:
    interface(root, "eth0", physical=True)
    for name in ("lo", "docker0", "veth9f1c2e0"):
        interface(root, name, physical=False)
    nics = {name: NicIo(10**9, 10**9) for name in ("eth0", "lo", "docker0", "veth9f1c2e0")}
    return FakeCounters(nics=nics)


def test_a_container_download_through_docker0_counts_once(tmp_path: Path) -> None:
    fake = docker_host(tmp_path)

    def download() -> None:  # 10 MB in from outside, forwarded to the container; ACKs back
        fake.traffic("eth0", rx=10_000_000, tx=200_000)
        fake.traffic("docker0", tx=10_000_000, rx=200_000)
        fake.traffic("veth9f1c2e0", tx=10_000_000, rx=200_000)

    sample = one_interval(sampler_for(tmp_path, fake), download)
    assert sample["net"] == {"rx_bps": 10_000_000, "tx_bps": 200_000}  # was 10.4 M / 20.2 M
    nics = sample["nics"]
    assert "lo" not in nics
    assert {name for name, rates in nics.items() if rates["virtual"]} == {"docker0", "veth9f1c2e0"}


def test_inside_a_container_namespace_the_veth_is_the_network(tmp_path: Path) -> None:
    for name in ("lo", "eth0"):
        interface(tmp_path, name, physical=False)
    fake = FakeCounters(nics={"lo": NicIo(0, 0), "eth0": NicIo(0, 0)})
    sample = one_interval(sampler_for(tmp_path, fake), lambda: fake.traffic("eth0", rx=4000))
    assert sample["net"] == {"rx_bps": 4000, "tx_bps": 0}


def test_an_interface_that_appears_is_no_burst(tmp_path: Path) -> None:
    interface(tmp_path, "eth0", physical=True)
    fake = FakeCounters(nics={"eth0": NicIo(0, 0)})
    sampler = sampler_for(tmp_path, fake)
    sampler.prime()
    interface(tmp_path, "eth1", physical=True)
    fake.nics["eth1"] = NicIo(bytes_sent=7 * 10**12, bytes_recv=9 * 10**12)  # hot-plugged
    fake.traffic("eth0", rx=1000)
    assert sampler.sample(0)["net"] == {"rx_bps": 1000, "tx_bps": 0}


def test_a_wrapped_32_bit_interface_counter(tmp_path: Path) -> None:
    interface(tmp_path, "eth0", physical=True)
    fake = FakeCounters(nics={"eth0": NicIo(bytes_sent=0, bytes_recv=2**32 - 1_000)})
    sampler = sampler_for(tmp_path, fake)
    sampler.prime()
    fake.nics["eth0"] = NicIo(bytes_sent=0, bytes_recv=24_000)
    assert sampler.sample(0)["net"]["rx_bps"] == 25_000


# -- clocks ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("step", [-3600.0, 3600.0, 0.0])
def test_a_stepped_wall_clock_changes_no_rate(tmp_path: Path, step: float) -> None:
    block_device(tmp_path, "sda")
    fake = FakeCounters(disks={"sda": disk_io()})
    walls = iter([1_800_000_000.0, 1_800_000_000.0 + step])  # NTP or `date -s` between readings
    elapsed = iter([100.0, 102.0])  # ... while 2 s really passed
    sampler = PsutilSampler(
        clock=lambda: next(walls),
        elapsed_clock=lambda: next(elapsed),
        root=tmp_path,
        environ={},
        counters=fake,
    )
    sampler.prime()
    fake.read(["sda"], 4 * MiB)
    fake.busy(2.0, user=1.0)
    sample = validate_sample(sampler.sample(0))
    assert sample["interval"] == 2.0
    assert sample["disk"]["read_bps"] == 2 * MiB
    assert sample["t"] == 1_800_000_000.0 + step  # the sample still says the wall clock's time
    assert sample["cpu"]["us"] == 25.0


def test_the_default_rate_clock_ignores_the_wall_clock(tmp_path: Path) -> None:
    # A sampler with the default clocks measures rates on a clock that never steps.
    fake = FakeCounters()
    sampler = PsutilSampler(root=tmp_path, environ={}, counters=fake)
    sampler.prime()
    sample = sampler.sample(0)
    assert 0.001 <= sample["interval"] < 5


# -- containers pinned to a cpuset ----------------------------------------------------------------
def host_cpus(root: Path, online: str, allowed: str | None = None) -> None:
    write(root, "sys/devices/system/cpu/online", online + "\n")
    if allowed is not None:
        write(root, "proc/self/status", f"Name:\tpython3\nCpus_allowed_list:\t{allowed}\n")


def busy_cgroup(leaf: Path, cpu_seconds: float) -> None:
    usec = 1_000_000 + int(cpu_seconds * 1e6)  # v2_tree starts the counter at 1 s
    write(leaf, "cpu.stat", f"usage_usec {usec}\nuser_usec {usec}\nsystem_usec 0\n")


def test_memory_limited_container_pinned_by_affinity_reads_saturated(tmp_path: Path) -> None:
    # Memory limit only, no CPU quota, process affinity {0} on a 2-CPU host, 1 CPU-s per s used.
    leaf = v2_tree(tmp_path, cpu_max="max 100000\n")
    host_cpus(tmp_path, "0-1", allowed="0")
    fake = FakeCounters(cpus=2)
    sample = one_interval(sampler_for(tmp_path, fake), lambda: busy_cgroup(leaf, 1.0))
    assert sample["scope"] == "container"
    assert sample["cpu"]["us"] + sample["cpu"]["sy"] == 100  # was us 50, id 50


def test_cpuset_effective_on_a_64_core_host_is_the_capacity(tmp_path: Path) -> None:
    # Only a cpuset (docker --cpuset-cpus=0,1): no quota, no memory limit, 64 cores.
    leaf = v2_tree(tmp_path, cpu_max="max 100000\n", memory_max="max\n")
    write(leaf, "cpuset.cpus.effective", "0-1\n")
    host_cpus(tmp_path, "0-63", allowed="0-63")
    fake = FakeCounters(cpus=64)
    sample = one_interval(sampler_for(tmp_path, fake), lambda: busy_cgroup(leaf, 1.5))
    assert sample["scope"] == "container"
    assert sample["cpu"]["us"] == 75  # 1.5 of 2 cores; was about 2 % of 64


def test_v1_cpuset_with_a_looser_quota(tmp_path: Path) -> None:
    v1_tree(tmp_path, quota="400000\n")  # 4 cores of quota ...
    write(tmp_path, "sys/fs/cgroup/cpuset/cpuset.effective_cpus", "2,5\n")  # ... on 2 CPUs
    host_cpus(tmp_path, "0-7")
    fake = FakeCounters(cpus=8)
    acct = tmp_path / "sys/fs/cgroup/cpu,cpuacct"

    def two_cpu_seconds() -> None:
        write(acct, "cpuacct.usage", f"{5_000_000_000 + 2_000_000_000}\n")
        write(acct, "cpuacct.stat", "user 500\nsystem 200\n")

    sample = one_interval(sampler_for(tmp_path, fake), two_cpu_seconds)
    assert sample["scope"] == "container"
    assert sample["cpu"]["us"] + sample["cpu"]["sy"] == 100


def test_a_tighter_quota_still_wins_over_the_cpuset(tmp_path: Path) -> None:
    leaf = v2_tree(tmp_path, cpu_max="50000 100000\n")  # half a core ...
    write(leaf, "cpuset.cpus.effective", "0-3\n")  # ... of 4 pinned CPUs
    host_cpus(tmp_path, "0-15")
    sample = one_interval(
        sampler_for(tmp_path, FakeCounters(cpus=16)), lambda: busy_cgroup(leaf, 0.25)
    )
    assert sample["cpu"]["us"] == 50


def test_no_time_passed_is_no_reading_and_loses_nothing(tmp_path: Path) -> None:
    block_device(tmp_path, "sda")
    fake = FakeCounters(disks={"sda": disk_io()})
    elapsed = iter([10.0, 10.0, 12.0])  # the second reading comes at the same instant
    sampler = PsutilSampler(
        clock=lambda: 1_800_000_000.0,
        elapsed_clock=lambda: next(elapsed),
        root=tmp_path,
        environ={},
        counters=fake,
    )
    sampler.prime()
    fake.read(["sda"], 4 * MiB)
    with pytest.raises(NoReading):
        sampler.sample(0)
    sample = sampler.sample(0)  # 2 s after the baseline, which was kept
    assert sample["interval"] == 2.0 and sample["disk"]["read_bps"] == 2 * MiB


def test_a_loop_device_bound_to_a_file_after_start_is_stacked_once_it_moves(
    tmp_path: Path,
) -> None:
    block_device(tmp_path, "vda")
    block_device(tmp_path, "loop0")  # listed, unbound, all zeros
    fake = FakeCounters(disks={"vda": disk_io(GiB), "loop0": disk_io()})
    sampler = sampler_for(tmp_path, fake)
    sampler.prime()
    fake.read(["vda"], MiB)
    assert sampler.sample(0)["disk"]["read_bps"] == MiB
    touch(tmp_path / "sys/block/loop0/loop/backing_file", "/var/lib/snapd/snaps/x.snap\n")
    fake.read(["loop0", "vda"], 2 * MiB)  # `mount -o loop`, then a read through it
    sample = sampler.sample(1)
    assert sample["disk"]["read_bps"] == 2 * MiB
    assert sample["disks"]["loop0"]["stacked"] is True


def test_a_zfs_volume_counts_on_its_pools_disks(tmp_path: Path) -> None:
    for disk in ("sda", "sdb"):
        block_device(tmp_path, disk, partitions=(f"{disk}1",))
    block_device(tmp_path, "zd0")  # a VM's disk on a mirrored pool: sysfs names no slaves
    fake = FakeCounters(disks={n: disk_io() for n in ("sda", "sda1", "sdb", "sdb1", "zd0")})

    def write_to_the_volume() -> None:
        fake.write(["zd0"], 10 * MiB)
        fake.write(["sda1", "sda", "sdb1", "sdb"], 10 * MiB)

    sample = one_interval(sampler_for(tmp_path, fake), write_to_the_volume)
    assert sample["disk"]["write_bps"] == 20 * MiB
    assert sample["disks"]["zd0"]["stacked"] is True


def test_a_san_host_with_a_thousand_paths_fits_the_wire(tmp_path: Path) -> None:
    # 210 LUNs, each over 4 paths under one multipath device: 1,050 busy block devices.
    names: list[str] = []
    for lun in range(210):
        paths = [f"sd{lun:03d}{path}" for path in "abcd"]
        for name in paths:
            block_device(tmp_path, name)
        block_device(tmp_path, f"dm-{lun}", slaves=paths)
        names += [*paths, f"dm-{lun}"]
    fake = FakeCounters(disks={name: disk_io(MiB, MiB) for name in names})

    def busy() -> None:
        for lun in range(210):
            fake.read([f"sd{lun:03d}a", f"dm-{lun}"], MiB)

    sample = one_interval(sampler_for(tmp_path, fake), busy)
    assert sample["disk"]["read_bps"] == 210 * MiB  # each read once, on its path
    assert decode_sample(encode_sample(sample)) == sample  # the detail stream carries it whole


@pytest.mark.parametrize("head_counts", [True, False])
def test_nvme_multipath_paths_count_once(tmp_path: Path, head_counts: bool) -> None:
    # Native NVMe multipath: the head nvme0n1 and its two hidden paths. A recent kernel counts
    # I/O on the head and on the path it took; an older one on the path alone.
    for name in ("nvme0n1", "nvme0c0n1", "nvme0c1n1"):
        block_device(tmp_path, name)
    fake = FakeCounters(disks={n: disk_io() for n in ("nvme0n1", "nvme0c0n1", "nvme0c1n1")})

    def read_both_paths() -> None:
        fake.read(["nvme0c0n1"], MiB)
        fake.read(["nvme0c1n1"], MiB)
        if head_counts:
            fake.read(["nvme0n1"], 2 * MiB)

    sample = one_interval(sampler_for(tmp_path, fake), read_both_paths)
    assert sample["disk"]["read_bps"] == 2 * MiB
