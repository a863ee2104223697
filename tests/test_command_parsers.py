"""The iostat/vmstat parsers on captured (and format-reconstructed) outputs, and on junk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iostat_widget.schema import validate_sample
from iostat_widget.sources.command_parsers import (
    BsdIostatParser,
    CommandParser,
    IostatParser,
    LineParser,
    Reading,
    SysstatIostatParser,
    VmstatParser,
)
from iostat_widget.sources.topology import block_roles

from .machine_shapes import block_device, loop_device

OUTPUTS = Path(__file__).parent / "fixtures" / "command_output"
MEM_TOTAL = 24684084 * 1024  # the capturing machine's MemTotal, in bytes


def lines_of(name: str) -> list[str]:
    """A fixture's lines as the tool printed them (the provenance note dropped)."""
    return [line for line in (OUTPUTS / name).read_text().splitlines() if not line.startswith("#")]


def run(parser: LineParser, lines: list[str]) -> list[Reading]:
    return [reading for line in lines if (reading := parser.feed(line)) is not None]


def cpu(reading: Reading) -> tuple[float, ...]:
    assert reading.cpu is not None
    return tuple(reading.cpu[key] for key in ("us", "sy", "id", "wa", "st"))


def disk(reading: Reading) -> tuple[float, float]:
    assert reading.disk is not None
    return reading.disk["read_bps"], reading.disk["write_bps"]


# -- sysstat iostat -------------------------------------------------------------------------------
def test_sysstat_default_report_skips_the_since_boot_one() -> None:
    parser = IostatParser()
    readings = run(parser, lines_of("linux_iostat.txt"))
    assert [cpu(r) for r in readings] == [
        (4.04, 9.09, 81.82, 5.05, 0),  # us = %user + %nice
        (37.19, 12.06, 42.21, 8.54, 0),
        (50.76, 3.05, 46.19, 0, 0),
    ]
    assert [disk(r) for r in readings] == [
        (160 * 1024, 307204 * 1024),  # kB_read/s, kB_wrtn/s are KiB
        (307212 * 1024, 20 * 1024),
        (4 * 1024, 0),
    ]
    assert all(r.mem is None for r in readings)
    assert parser.garbage == 0 and parser.readings == 3


def test_sysstat_since_boot_report_is_kept_when_asked() -> None:
    readings = run(SysstatIostatParser(skip_first=False), lines_of("linux_iostat.txt"))
    assert len(readings) == 4
    assert cpu(readings[0]) == (37.94, 6.98, 54.71, 0.34, 0.04)
    assert disk(readings[0]) == (round(1333.03 * 1024), round(1983.47 * 1024))


def test_a_reading_is_handed_out_at_the_blank_line_that_ends_its_report() -> None:
    lines = lines_of("linux_iostat.txt")
    parser = IostatParser()
    at = [index for index, line in enumerate(lines) if parser.feed(line) is not None]
    assert len(at) == 3
    for index in at:
        assert lines[index] == "" and lines[index - 1].startswith("vda ")


def test_sysstat_extended_columns_give_iops() -> None:
    readings = run(IostatParser(), lines_of("linux_iostat_x.txt"))
    assert [disk(r) for r in readings] == [(140 * 1024, 307204 * 1024), (307212 * 1024, 20 * 1024)]
    assert [(r.disk or {}).get("read_iops") for r in readings] == [17, 603]
    assert [(r.disk or {}).get("write_iops") for r in readings] == [601, 3]


def test_sysstat_json_gives_the_same_fields() -> None:
    parser = IostatParser()
    readings = run(parser, lines_of("linux_iostat.json"))
    assert [cpu(r) for r in readings] == [
        (4.04, 9.09, 81.82, 5.05, 0),
        (37.19, 12.06, 42.21, 8.54, 0),
    ]
    assert [disk(r) for r in readings] == [(60 * 1024, 307204 * 1024), (307212 * 1024, 20 * 1024)]
    assert parser.garbage == 0


def test_sysstat_y_output_has_no_since_boot_report() -> None:
    readings = run(SysstatIostatParser(skip_first=False), lines_of("linux_iostat_y_dc.txt"))
    assert [cpu(r)[:3] for r in readings] == [(7.07, 3.54, 89.39), (29, 3.5, 67.5), (53, 1.5, 45.5)]
    assert [disk(r) for r in readings] == [(0, 8 * 1024), (64 * 1024, 20 * 1024), (0, 0)]


def test_sysstat_cpu_only_learns_where_a_report_ends() -> None:
    lines = lines_of("linux_iostat_c.txt")
    parser = IostatParser()
    at = [index for index, line in enumerate(lines) if parser.feed(line) is not None]
    readings = run(IostatParser(), lines)
    assert [cpu(r)[:3] for r in readings] == [(7.07, 3.54, 89.39), (29, 3.5, 67.5)]
    assert all(r.disk is None for r in readings)
    # The first real report is only known complete when the next one starts; the last one is
    # handed out at the blank line after its values, not held back until a fourth report.
    assert lines[at[-1]] == "" and lines[at[-1] - 1].split()[0] == "29.00"


def test_sysstat_disks_only_has_no_cpu() -> None:
    readings = run(IostatParser(), lines_of("linux_iostat_d.txt"))
    assert [r.cpu for r in readings] == [None, None]
    assert [disk(r) for r in readings] == [(0, 8 * 1024), (64 * 1024, 20 * 1024)]


def test_sysstat_10_columns_and_stacked_devices_are_not_counted_twice() -> None:
    parser = IostatParser()
    [reading] = run(parser, lines_of("sysstat10_iostat_x.txt"))
    assert cpu(reading) == (12.75, 3.25, 82.5, 1.5, 0)
    assert disk(reading) == (160 * 1024, 512 * 1024)  # sda only: not sda1, not dm-0
    assert reading.disk is not None and reading.disk.get("read_iops") == 10
    assert parser.garbage == 0


def test_early_sysstat_blocks_are_512_bytes_and_steal_may_be_missing() -> None:
    [reading] = run(IostatParser(), lines_of("sysstat_old_iostat_blocks.txt"))
    assert cpu(reading) == (25, 5, 68, 2, 0)
    assert disk(reading) == (2048 * 512, 4096 * 512)


def test_decimal_commas_are_read_as_points() -> None:
    lines = ["avg-cpu:  %user   %nice %system %iowait  %steal   %idle"]
    lines += ["           5,50    0,00    2,00    0,00    0,00   92,50", ""]
    readings = run(SysstatIostatParser(skip_first=False), [*lines, *lines])
    assert [cpu(r) for r in readings] == [(5.5, 2, 92.5, 0, 0)] * 2


# -- BSD / macOS iostat ---------------------------------------------------------------------------
def test_macos_iostat_gives_cpu_only() -> None:
    parser = IostatParser()
    readings = run(parser, lines_of("macos_iostat_w1.txt"))
    assert isinstance(parser.inner, BsdIostatParser)
    assert [cpu(r) for r in readings] == [(6, 3, 91, 0, 0), (31, 12, 57, 0, 0), (2, 1, 97, 0, 0)]
    assert all(r.disk is None for r in readings)  # MB/s mixes reads and writes
    assert parser.garbage == 0


def test_macos_repeated_header_does_not_skip_another_report() -> None:
    readings = run(IostatParser(), lines_of("macos_iostat_w1_two_disks.txt"))
    assert [cpu(r) for r in readings] == [(12, 5, 83, 0, 0), (40, 10, 50, 0, 0)]


# -- vmstat ---------------------------------------------------------------------------------------
def test_vmstat_cpu_disk_and_memory() -> None:
    parser = VmstatParser(mem_total_bytes=MEM_TOTAL)
    readings = run(parser, lines_of("linux_vmstat.txt"))
    assert len(readings) == 4 and parser.garbage == 0
    # 4 + 9 + 83 + 5 = 101 %: whole percents are scaled to add up to 100.
    assert cpu(readings[0]) == (3.96, 8.91, 82.18, 4.95, 0)
    assert cpu(readings[1]) == (37, 12, 42, 9, 0)
    assert disk(readings[0]) == (4 * 1024, 305156 * 1024)  # bi/bo are 1 KiB blocks per second
    used_kib = 24684084 - (22447996 + 57844 + 1730580)
    assert readings[0].mem == {"used_pct": round(100 * used_kib / 24684084, 1)}


def test_vmstat_without_a_total_has_no_memory() -> None:
    assert all(r.mem is None for r in run(VmstatParser(), lines_of("linux_vmstat.txt")))


def test_vmstat_timestamps_and_guest_column() -> None:
    assert len(run(VmstatParser(), lines_of("linux_vmstat_t.txt"))) == 2
    [reading] = run(VmstatParser(mem_total_bytes=16 * 2**30), lines_of("procps404_vmstat.txt"))
    assert cpu(reading) == (30, 5, 60, 5, 0)  # us + gu: guest time is user time on the host
    assert disk(reading) == (512 * 1024, 1024 * 1024)
    used_kib = 16 * 2**20 - (11990000 + 100000 + 2000000)
    assert reading.mem == {"used_pct": round(100 * used_kib / (16 * 2**20), 1)}


# -- junk -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "line",
    [
        "not numbers at all",
        "x" * 5000,
        "          9e999    0.00    2.00    0.00    0.00   92.50",
        "          inf    nan    2.00    0.00    0.00   92.50",
        "          ٣.00    0.00    2.00    0.00    0.00   92.50",
        "          60.00    0.00    60.00    0.00    0.00   92.50",
    ],
)
def test_junk_after_a_cpu_header_is_counted_not_raised(line: str) -> None:
    parser = SysstatIostatParser(skip_first=False)
    parser.feed("avg-cpu:  %user   %nice %system %iowait  %steal   %idle")
    assert parser.feed(line) is None and parser.feed("") is None
    assert parser.garbage == 1 and parser.readings == 0


REAL_LINES = [line for path in sorted(OUTPUTS.glob("*.txt")) for line in lines_of(path.name)]
REAL_LINES += lines_of("linux_iostat.json")
VOCABULARY = [
    *("avg-cpu:", "%user", "%nice", "%system", "%iowait", "%steal", "%idle", "Device", "Device:"),
    *("vda", "sda", "sda1", "dm-0", "nvme0n1", "nvme0n1p1", "r/s", "w/s", "rkB/s", "wkB/s"),
    *("kB_read/s", "kB_wrtn/s", "Blk_read/s", "rMB/s", "tps", "KB/t", "MB/s", "us", "sy", "id"),
    *("wa", "st", "gu", "ni", "in", "r", "b", "free", "buff", "cache", "bi", "bo", "cpu"),
    *("disk0", "procs", "load", "0", "1", "12.5", "99,9", "100", "100.4", "101", "1e999", "nan"),
    *("inf", "-1", "9" * 400, "٣", "1_000", ".", ",", "Linux", "(host)", "11/26/26", "04:45:18"),
    *('{"sysstat":', "{", '"avg-cpu":', '{"user":', "1e308", '"idle":', "}", "},", '"disk":'),
    *('{"disk_device":', '"vda",', '"rkB/s":', "]", "],", "[" * 50, "\x00", "\ufffd"),
]
LINES = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(VOCABULARY), max_size=20).map(" ".join),
    st.sampled_from(REAL_LINES),
)


def as_sample(reading: Reading) -> dict[str, Any]:
    zeros = {"us": 0, "sy": 0, "id": 0, "wa": 0, "st": 0}
    return {
        "seq": 0,
        "t": 1.0,
        "date": "1970-01-01T00:00:01.000Z",
        "host": "h",
        "interval": 1.0,
        "cpu": reading.cpu or zeros,
        "disk": reading.disk or {"read_bps": 0, "write_bps": 0},
        "net": {"rx_bps": 0, "tx_bps": 0},
        "mem": reading.mem or {"used_pct": 0},
    }


@settings(max_examples=400, deadline=None)
@given(st.lists(LINES, max_size=60))
def test_any_lines_never_raise_and_readings_are_valid_samples(lines: list[str]) -> None:
    parsers: list[CommandParser | IostatParser] = [
        IostatParser(),
        SysstatIostatParser(skip_first=False),
        BsdIostatParser(skip_first=False),
        VmstatParser(mem_total_bytes=MEM_TOTAL, skip_first=False),
    ]
    for parser in parsers:
        readings = run(parser, lines)
        assert parser.garbage <= len(lines)
        for reading in readings:
            validate_sample(as_sample(reading))  # every figure within the schema's bounds


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=80), min_size=1, max_size=5))
def test_junk_between_reports_is_counted_and_changes_no_reading(junk: list[str]) -> None:
    junk = [text.replace("\r", " ").replace("\n", " ") for text in junk]
    junk = [f"\x00{text}" for text in junk]  # never a header, a values line or blank
    lines = lines_of("linux_iostat.txt")
    noisy = [part for line in lines for part in ([line, *junk] if not line else [line])]
    parser = IostatParser()
    assert run(parser, noisy) == run(IostatParser(), lines)
    assert parser.garbage == len(junk) * lines.count("")


def test_sysstat_totals_follow_the_machines_topology_like_the_psutil_sampler(
    tmp_path: Path,
) -> None:
    # An LVM volume dm-0 on sda2, zram swap, and a snap's loop device on a file: 100 MiB read
    # through the volume, 1 MiB swapped out to zram, 1 MiB read from the snap.
    block_device(tmp_path, "sda", partitions=("sda1", "sda2"))
    block_device(tmp_path, "dm-0", slaves=("sda2",))
    block_device(tmp_path, "zram0")
    loop_device(tmp_path, "loop4", "/var/lib/snapd/snaps/core.snap")
    rows = {"sda": 103424, "sda2": 102400, "dm-0": 102400, "zram0": 0, "loop4": 1024}
    writes = {"zram0": 1024}
    report = ["avg-cpu:  %user   %nice %system %iowait  %steal   %idle"]
    report += ["          10.00    0.00    5.00    0.00    0.00   85.00", ""]
    report += ["Device             tps    kB_read/s    kB_wrtn/s    kB_read    kB_wrtn"]
    report += [f"{n:<12} 1.00 {r:.2f} {writes.get(n, 0):.2f} 0 0" for n, r in rows.items()]
    report += [""]
    parser = IostatParser(skip_first=False, roles=lambda names: block_roles(names, tmp_path))
    [reading] = run(parser, report)
    assert disk(reading) == (101 * 1024 * 1024, 1024 * 1024)  # sda (with loop4's file), zram0
