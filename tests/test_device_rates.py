"""Per-device rates and totals from known counters: device sets that change, wraps, resets."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from iostat_widget.schema import DeviceDiskRates, DeviceNetRates, DiskRates, NetRates
from iostat_widget.sources.device_rates import DiskCounters, NicCounters, disk_figures, net_figures


def disk_rates(
    prev: Mapping[str, DiskCounters],
    cur: Mapping[str, DiskCounters],
    seconds: float,
    stacked: Collection[str] = (),
) -> dict[str, DeviceDiskRates]:
    return disk_figures(prev, cur, seconds, (), stacked)[1]


def disk_totals(
    prev: Mapping[str, DiskCounters],
    cur: Mapping[str, DiskCounters],
    seconds: float,
    counted: Collection[str],
) -> DiskRates:
    return disk_figures(prev, cur, seconds, counted)[0]


def net_rates(
    prev: Mapping[str, NicCounters],
    cur: Mapping[str, NicCounters],
    seconds: float,
    virtual: Collection[str] = (),
) -> dict[str, DeviceNetRates]:
    return net_figures(prev, cur, seconds, (), virtual)[1]


def net_totals(
    prev: Mapping[str, NicCounters],
    cur: Mapping[str, NicCounters],
    seconds: float,
    counted: Collection[str],
) -> NetRates:
    return net_figures(prev, cur, seconds, counted)[0]


def test_disk_rates_list_every_device_marked_stacked() -> None:
    before = {"sda": DiskCounters(1000, 2000, 10, 20), "sda1": DiskCounters(1000, 2000, 10, 20)}
    after = {
        "sda": DiskCounters(5000, 2000, 14, 20),
        "sda1": DiskCounters(5000, 2000, 14, 20),
        "sdb": DiskCounters(9, 9, 9, 9),  # new disk: no rate until its second reading
    }
    assert disk_rates(before, after, 2.0, stacked={"sda1"}) == {
        "sda": {
            "read_bps": 2000,
            "write_bps": 0,
            "read_iops": 2,
            "write_iops": 0,
            "stacked": False,
        },
        "sda1": {
            "read_bps": 2000,
            "write_bps": 0,
            "read_iops": 2,
            "write_iops": 0,
            "stacked": True,
        },
    }


def test_disk_totals_add_counted_devices_only() -> None:
    before = {"sda": DiskCounters(0, 0, 0, 0), "dm-0": DiskCounters(0, 0, 0, 0)}
    after = {"sda": DiskCounters(4096, 8192, 1, 2), "dm-0": DiskCounters(4096, 8192, 1, 2)}
    assert disk_totals(before, after, 1.0, ["sda"]) == {
        "read_bps": 4096,
        "write_bps": 8192,
        "read_iops": 1,
        "write_iops": 2,
    }


def test_a_disk_attached_between_readings_is_no_burst() -> None:
    # sdb arrives with 50 GB read in its past: none of that happened in this interval.
    before = {"sda": DiskCounters(1000, 0, 1, 0)}
    after = {"sda": DiskCounters(3000, 0, 3, 0), "sdb": DiskCounters(50e9, 7e9, 10**6, 10**5)}
    totals = disk_totals(before, after, 1.0, ["sda", "sdb"])
    assert totals["read_bps"] == 2000 and totals["write_bps"] == 0


def test_a_disk_detached_between_readings_leaves_the_others_counted() -> None:
    # The old way (sum now - sum before) went negative here and read 0 for the whole machine.
    before = {"sda": DiskCounters(1000, 0, 1, 0), "sdb": DiskCounters(50e9, 0, 10**6, 0)}
    after = {"sda": DiskCounters(3000, 0, 3, 0)}
    assert disk_totals(before, after, 1.0, ["sda"])["read_bps"] == 2000


def test_interfaces_added_and_removed_between_readings() -> None:
    before = {"eth0": NicCounters(1000, 100), "wlan0": NicCounters(5e9, 5e9)}
    after = {"eth0": NicCounters(3000, 300), "usb0": NicCounters(7e9, 1e9)}  # wlan0 gone
    assert net_totals(before, after, 2.0, ["eth0", "usb0"]) == {"rx_bps": 1000, "tx_bps": 100}


def test_a_32_bit_counter_that_wrapped_keeps_its_rate() -> None:
    top = 2**32
    before = {"eth0": NicCounters(top - 1000, 10)}
    after = {"eth0": NicCounters(5000, 20)}  # 6,000 bytes received across the wrap
    assert net_totals(before, after, 1.0, ["eth0"]) == {"rx_bps": 6000, "tx_bps": 10}
    assert net_rates(before, after, 1.0)["eth0"]["rx_bps"] == 6000


def test_a_reset_counter_counts_what_it_holds_now() -> None:
    # A driver reloaded: the counter restarted from 0 and has counted 5,000 bytes since.
    before = {"eth0": NicCounters(8e12, 8e12)}
    after = {"eth0": NicCounters(5000, 0)}
    assert net_totals(before, after, 1.0, ["eth0"]) == {"rx_bps": 5000, "tx_bps": 0}


def test_net_rates_skip_loopback_and_new_interfaces_and_mark_virtual_ones() -> None:
    before = {"eth0": NicCounters(0, 0), "lo": NicCounters(0, 0), "docker0": NicCounters(0, 0)}
    after = {
        "eth0": NicCounters(1500, 300),
        "lo": NicCounters(10**9, 10**9),
        "docker0": NicCounters(0, 1500),
        "wlan0": NicCounters(1, 1),
    }
    assert net_rates(before, after, 1.5, virtual={"docker0", "lo"}) == {
        "docker0": {"rx_bps": 0, "tx_bps": 1000, "virtual": True},
        "eth0": {"rx_bps": 1000, "tx_bps": 200, "virtual": False},
    }


def test_no_time_is_no_rate() -> None:
    before = {"sda": DiskCounters(0, 0, 0, 0)}
    after = {"sda": DiskCounters(10, 10, 1, 1)}
    assert disk_totals(before, after, 0.0, ["sda"])["read_bps"] == 0
    assert disk_rates(before, after, -1.0)["sda"]["read_bps"] == 0


def test_devices_never_used_since_boot_are_not_listed() -> None:
    before = {"loop7": DiskCounters(0, 0, 0, 0), "sda": DiskCounters(0, 0, 0, 0)}
    after = {"loop7": DiskCounters(0, 0, 0, 0), "sda": DiskCounters(512, 0, 1, 0)}
    assert set(disk_rates(before, after, 1.0)) == {"sda"}
    idle = {"tun9": NicCounters(0, 0), "eth0": NicCounters(1, 1)}
    assert set(net_rates(idle, idle, 1.0)) == {"eth0"}


def test_a_disk_byte_count_wraps_with_its_32_bit_sector_counter() -> None:
    top = 512 * 2**32  # bytes, counted in 512-byte sectors held in 32 bits
    before = {"sda": DiskCounters(top - 4096, 0, 2**32 - 1, 0)}
    after = {"sda": DiskCounters(8192, 0, 2, 0)}
    assert disk_totals(before, after, 1.0, ["sda"]) == {
        "read_bps": 12288,
        "write_bps": 0,
        "read_iops": 3,
        "write_iops": 0,
    }
