"""Per-device rates: partitions and pseudo-devices left out, loopback left out, known numbers."""

from __future__ import annotations

import pytest

from iostat_widget.sources.device_rates import (
    DiskCounters,
    NicCounters,
    disk_rates,
    is_loopback_nic,
    net_rates,
    whole_disks,
)


@pytest.mark.parametrize(
    ("names", "kept"),
    [
        (["sda", "sda1", "sda2", "sdb"], ["sda", "sdb"]),
        (["nvme0n1", "nvme0n1p1", "nvme0n1p2"], ["nvme0n1"]),
        (["vda", "loop0", "loop12", "ram0", "zram0"], ["vda", "zram0"]),
        (["mmcblk0", "mmcblk0p1"], ["mmcblk0"]),
        (["sda1"], ["sda1"]),  # a partition whose disk is not listed is all there is
        (["dm-0", "md127"], ["dm-0", "md127"]),
    ],
)
def test_whole_disks(names: list[str], kept: list[str]) -> None:
    assert whole_disks(names) == kept


def test_disk_rates_from_known_counters() -> None:
    before = {"sda": DiskCounters(1000, 2000, 10, 20), "sda1": DiskCounters(1000, 2000, 10, 20)}
    after = {
        "sda": DiskCounters(5000, 2000, 14, 20),
        "sda1": DiskCounters(5000, 2000, 14, 20),
        "sdb": DiskCounters(9, 9, 9, 9),  # new disk: no rate until its second reading
    }
    assert disk_rates(before, after, 2.0) == {
        "sda": {"read_bps": 2000, "write_bps": 0, "read_iops": 2, "write_iops": 0}
    }


def test_net_rates_skip_loopback_and_new_interfaces() -> None:
    before = {"eth0": NicCounters(0, 0), "lo": NicCounters(0, 0)}
    after = {
        "eth0": NicCounters(1500, 300),
        "lo": NicCounters(10**9, 10**9),
        "wlan0": NicCounters(1, 1),
    }
    assert net_rates(before, after, 1.5) == {"eth0": {"rx_bps": 1000, "tx_bps": 200}}


def test_loopback_names() -> None:
    assert is_loopback_nic("lo") and is_loopback_nic("lo0")
    assert not is_loopback_nic("eth0") and not is_loopback_nic("local1")
