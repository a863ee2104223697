"""The sample schema accepts good samples and rejects each malformed kind with a reason."""

from __future__ import annotations

import contextlib
import copy
import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iostat_widget.schema import (
    MAX_MESSAGE_BYTES,
    SampleError,
    decode_sample,
    encode_sample,
    lean_sample,
    validate_sample,
)
from iostat_widget.sources.synthetic import synthetic_sample

GOOD = dict(synthetic_sample(7, 1_764_130_513.25, host="db-1", interval=1.0))


def with_change(path: str, value: Any) -> dict[str, Any]:
    sample = copy.deepcopy(GOOD)
    *parents, leaf = path.split(".")
    target = sample
    for key in parents:
        target = target[key]
    if value is KeyError:
        del target[leaf]
    else:
        target[leaf] = value
    return sample


def test_good_sample_round_trips() -> None:
    text = encode_sample(validate_sample(GOOD))
    assert " " not in text  # compact on the wire
    assert decode_sample(text) == GOOD
    assert decode_sample(text.encode()) == GOOD


def test_later_additions_are_optional_but_checked_when_present() -> None:
    minimal = copy.deepcopy(GOOD)
    del minimal["scope"], minimal["cpu"]["irq"], minimal["mem"]["avail_bytes"]
    del minimal["disk"]["read_iops"], minimal["disk"]["write_iops"]
    assert validate_sample(minimal) == minimal  # a server with the first contract only
    for path, junk in [
        ("scope", "galaxy"),
        ("cpu.irq", -1),
        ("disk.read_iops", "fast"),
        ("mem.avail_bytes", math.inf),
    ]:
        with pytest.raises(SampleError, match=path.split(".")[-1]):
            validate_sample(with_change(path, junk))


def test_unknown_keys_are_dropped() -> None:
    extra = {**GOOD, "extra": [1, 2, 3]}
    assert "extra" not in validate_sample(extra)


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        ("seq", KeyError, "seq"),
        ("seq", -1, "seq"),
        ("seq", 1.5, "seq"),
        ("seq", True, "seq"),
        ("seq", "7", "seq"),
        ("t", KeyError, "t:"),
        ("t", "now", "t:"),
        ("t", math.nan, "t:"),
        ("t", math.inf, "t:"),
        ("date", 5, "date"),
        ("date", "", "date"),
        ("host", None, "host"),
        ("host", "h" * 300, "host"),
        ("interval", 0, "interval"),
        ("cpu", KeyError, "cpu"),
        ("cpu", [1, 2], "cpu"),
        ("cpu.us", KeyError, "cpu.us"),
        ("cpu.us", -0.1, "cpu.us"),
        ("cpu.sy", 101.0, "cpu.sy"),
        ("cpu.id", False, "cpu.id"),
        ("cpu.wa", -math.inf, "cpu.wa"),
        ("cpu.st", "0", "cpu.st"),
        ("disk.read_bps", -1, "disk.read_bps"),
        ("disk.write_bps", 1e300, "disk.write_bps"),
        ("net.rx_bps", None, "net.rx_bps"),
        ("net.tx_bps", {"a": 1}, "net.tx_bps"),
        ("mem.used_pct", 250, "mem.used_pct"),
        ("mem", "full", "mem"),
    ],
)
def test_each_malformed_kind_is_rejected(path: str, value: Any, reason: str) -> None:
    with pytest.raises(SampleError, match=reason.replace(".", r"\.")):
        validate_sample(with_change(path, value))


@pytest.mark.parametrize(
    "message",
    [b"", "not json", "[1, 2]", "null", '"text"', "{", b"\xff\xfe\x00", "NaN"],
)
def test_non_samples_are_rejected(message: str | bytes) -> None:
    with pytest.raises(SampleError):
        decode_sample(message)


def test_nan_inside_json_is_rejected() -> None:
    text = json.dumps(GOOD).replace('"us": 3', '"us": NaN', 1)
    with pytest.raises(SampleError):
        decode_sample(text.replace(str(GOOD["cpu"]["us"]), "NaN", 1))


def test_oversized_and_deeply_nested_messages_are_rejected() -> None:
    with pytest.raises(SampleError, match="over"):
        decode_sample("x" * (MAX_MESSAGE_BYTES + 1))
    with pytest.raises(SampleError):
        decode_sample("[" * 50_000 + "]" * 50_000)


def test_encoding_refuses_nan() -> None:
    bad = with_change("cpu.us", math.nan)
    with pytest.raises(ValueError, match="JSON"):
        encode_sample(bad)  # type: ignore[arg-type]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_any_json_value_is_a_sample_or_a_sample_error(value: Any) -> None:
    try:
        sample = validate_sample(value)
    except SampleError:
        return
    assert all(math.isfinite(v) for v in sample["cpu"].values())


@given(st.sampled_from(sorted(GOOD)), json_values)
def test_replacing_any_field_with_junk_never_escapes_as_another_error(key: str, junk: Any) -> None:
    with contextlib.suppress(SampleError):
        validate_sample({**GOOD, key: junk})


def test_device_detail_is_checked() -> None:
    detailed = {
        **GOOD,
        "disks": {"sda": {"read_bps": 1, "write_bps": 2, "read_iops": 3, "write_iops": 4}},
        "nics": {"eth0": {"rx_bps": 5, "tx_bps": 6}},
    }
    assert validate_sample(detailed)["disks"]["sda"]["write_iops"] == 4
    for junk in (
        {"disks": []},
        {"disks": {"": {}}},
        {"disks": {"x" * 65: {}}},
        {"disks": {"sda": "fast"}},
        {"disks": {"sda": {"read_bps": -1, "write_bps": 0, "read_iops": 0, "write_iops": 0}}},
        {"nics": {"eth0": {"rx_bps": math.nan, "tx_bps": 0}}},
        {"nics": {f"n{i}": {"rx_bps": 0, "tx_bps": 0} for i in range(9000)}},  # over 8,192
    ):
        with pytest.raises(SampleError, match=r"disks|nics"):
            validate_sample({**GOOD, **junk})


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"t": 10**400}, "too large"),
        ({"seq": 3, "interval": -(10**400)}, "too large"),
        ({"host": "\ud800"}, "host"),
        ({"date": "2026-11-26T04:15:13\udfffZ"}, "date"),
    ],
)
def test_numbers_and_text_no_channel_can_carry(change: dict[str, Any], reason: str) -> None:
    with pytest.raises(SampleError, match=reason):
        validate_sample({**GOOD, **change})


def test_cpu_shares_over_100_are_rejected() -> None:
    cpu = {"us": 90.0, "sy": 90.0, "id": 0.0, "wa": 0.0, "st": 0.0}
    with pytest.raises(SampleError, match="over 100"):
        validate_sample({**GOOD, "cpu": cpu})
    rounding = {"us": 33.4, "sy": 33.4, "id": 33.4, "wa": 0.0, "st": 0.0}  # 100.2 by rounding
    assert validate_sample({**GOOD, "cpu": rounding})["cpu"]["us"] == 33.4


def test_gpus_are_optional_checked_when_present_and_lean_without_names() -> None:
    two = [
        {"index": 0, "name": "NVIDIA H200", "util_pct": 100.2, "mem_used_pct": 0, "temp": 70},
        {"index": 1, "name": "NVIDIA H200", "mem_used_pct": 12.5},  # MIG: no utilization
    ]
    sample = validate_sample({**GOOD, "gpu": two})
    assert sample["gpu"] == [
        {"index": 0, "name": "NVIDIA H200", "util_pct": 100.2, "mem_used_pct": 0.0},
        {"index": 1, "name": "NVIDIA H200", "mem_used_pct": 12.5},
    ]  # unknown keys dropped
    assert lean_sample(sample)["gpu"] == [
        {"index": 0, "util_pct": 100.2, "mem_used_pct": 0.0},
        {"index": 1, "mem_used_pct": 12.5},
    ]
    assert "name" in sample["gpu"][0]  # the detail sample keeps them
    assert validate_sample({**GOOD, "gpu": []})["gpu"] == []
    for junk, reason in [
        ({}, "gpu: expected a list"),
        ([{"index": i} for i in range(65)], "at most 64"),
        (["gpu0"], r"gpu\[0\]: expected an object"),
        ([{"name": "x"}], r"gpu\[0\].index"),
        ([{"index": True}], r"gpu\[0\].index"),
        ([{"index": 64}], r"gpu\[0\].index"),
        ([{"index": 0}, {"index": 0}], "listed twice"),
        ([{"index": 0, "name": ""}], "name"),
        ([{"index": 0, "name": "\ud800"}], "name"),
        ([{"index": 0, "util_pct": 250}], r"gpu\[0\].util_pct: 250.0 outside"),
        ([{"index": 0, "util_pct": -1}], "util_pct"),
        ([{"index": 0, "mem_used_pct": math.nan}], "mem_used_pct"),
        ([{"index": 0, "mem_used_pct": "full"}], "mem_used_pct"),
    ]:
        with pytest.raises(SampleError, match=reason):
            validate_sample({**GOOD, "gpu": junk})
