"""Counter → rate maths from two known counter snapshots."""

from __future__ import annotations

import pytest

from iostat_widget.sources.rates import counter_delta, counter_rate, cpu_percent, rounded

# Two /proc/stat-like snapshots 1 s apart on a 2-CPU machine: 200 ticks of 10 ms passed.
BEFORE = {
    "user": 100.0,
    "nice": 10.0,
    "system": 50.0,
    "idle": 800.0,
    "iowait": 5.0,
    "irq": 1.0,
    "softirq": 2.0,
    "steal": 0.0,
    "guest": 30.0,
    "guest_nice": 0.0,
}
AFTER = {
    "user": 140.0,
    "nice": 14.0,
    "system": 60.0,
    "idle": 920.0,
    "iowait": 9.0,
    "irq": 2.0,
    "softirq": 3.0,
    "steal": 2.0,
    "guest": 40.0,
    "guest_nice": 0.0,
}


def test_cpu_percent_from_known_snapshots() -> None:
    cpu = cpu_percent(BEFORE, AFTER)
    # deltas: user 40 + nice 4 = 44; system 10 + irq 1 + softirq 1 = 12; idle 120; iowait 4;
    # steal 2; total 182 (guest is inside user already and is not added again)
    assert cpu["us"] == pytest.approx(100 * 44 / 182)
    assert cpu["sy"] == pytest.approx(100 * 12 / 182)
    assert cpu["id"] == pytest.approx(100 * 120 / 182)
    assert cpu["wa"] == pytest.approx(100 * 4 / 182)
    assert cpu["st"] == pytest.approx(100 * 2 / 182)
    assert cpu.get("irq") == pytest.approx(100 * 2 / 182)  # irq 1 + softirq 1, inside sy
    five = cpu["us"] + cpu["sy"] + cpu["id"] + cpu["wa"] + cpu["st"]
    assert five == pytest.approx(100.0)


def test_no_time_passed_reads_as_idle() -> None:
    assert cpu_percent(BEFORE, BEFORE) == {
        "us": 0.0,
        "sy": 0.0,
        "id": 100.0,
        "wa": 0.0,
        "st": 0.0,
        "irq": 0.0,
    }


def test_counter_that_went_backwards_counts_as_zero() -> None:
    reset = {**AFTER, "user": 0.0}
    cpu = cpu_percent(BEFORE, reset)
    assert cpu["us"] == pytest.approx(100 * 4 / 142)  # only nice moved among user fields
    assert min(cpu.values()) >= 0.0


def test_platform_without_linux_fields() -> None:
    # macOS reports user, nice, system, idle only.
    before = {"user": 10.0, "nice": 0.0, "system": 5.0, "idle": 85.0}
    after = {"user": 20.0, "nice": 0.0, "system": 10.0, "idle": 170.0}
    assert cpu_percent(before, after) == pytest.approx(
        {"us": 10.0, "sy": 5.0, "id": 85.0, "wa": 0.0, "st": 0.0, "irq": 0.0}
    )


@pytest.mark.parametrize(
    ("prev", "cur", "seconds", "rate"),
    [
        (1000.0, 5000.0, 2.0, 2000.0),
        (5000.0, 5000.0, 1.0, 0.0),
        (5000.0, 10.0, 1.0, 10.0),  # reset: what it holds now happened since
        (2.0**32 - 100, 400.0, 1.0, 500.0),  # a 32-bit counter wrapped
        (2.0**64 - 4096, 904.0, 2.0, 2500.0),  # a 64-bit counter wrapped
        (3e12, 10.0, 1.0, 10.0),  # above 32 bits, far from 64: reset
        (3e9, 5000.0, 1.0, 5000.0),  # a tun device re-created: a wrap would be 1.3 GB in 1 s
        (0.0, 100.0, 0.0, 0.0),  # no time passed
        (0.0, 100.0, -1.0, 0.0),  # no time passed (a clock that stepped back)
    ],
)
def test_counter_rate(prev: float, cur: float, seconds: float, rate: float) -> None:
    assert counter_rate(prev, cur, seconds) == rate


def test_counter_delta_reads_a_drop_far_from_the_top_as_a_reset() -> None:
    assert counter_delta(1e9, 5000.0) == 5000.0  # 32 bits, but a wrap would be 3.3 GB: reset
    usb = 1.5 * 2**40  # a USB disk re-plugged: its byte counter starts again
    assert counter_delta(usb, 2.0**20, (512 * 2.0**32,)) == 2.0**20
    assert counter_delta(2.0**32 - 1, 0.0) == 1.0
    assert counter_delta(7.0, 7.0) == 0.0


def test_rounded_is_compact_on_the_wire() -> None:
    assert rounded(12.34) == 12.3
    assert isinstance(rounded(3.0), int)
    assert rounded(-0.04) == 0
    assert rounded(1234.5678, 0) == 1235
