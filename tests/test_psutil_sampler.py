"""The psutil sampler on this machine: real counters, injected clock, schema-valid samples."""

from __future__ import annotations

import hashlib
import itertools
import re

from iostat_widget.schema import validate_sample
from iostat_widget.sources.psutil_sampler import PsutilSampler, iso_date


def burn_cpu(seconds_of_work: int = 200_000) -> None:
    data = b"x" * 1024
    for _ in range(seconds_of_work // 100):
        hashlib.sha256(data).digest()


def test_samples_are_valid_and_use_the_injected_clock() -> None:
    ticks = itertools.count(1_800_000_000.0, 0.5)
    sampler = PsutilSampler(clock=lambda: next(ticks), host="test-host")
    sampler.prime()
    burn_cpu()
    first = sampler.sample(0)
    second = sampler.sample(1)
    for number, sample in enumerate((first, second)):
        assert validate_sample(sample) == sample
        assert sample["seq"] == number
        assert sample["host"] == "test-host"
        assert sample["interval"] == 0.5
    assert second["t"] - first["t"] == 0.5
    assert first["date"] == iso_date(first["t"])
    cpu = first["cpu"]
    five = cpu["us"] + cpu["sy"] + cpu["id"] + cpu["wa"] + cpu["st"]
    assert 99.0 <= five <= 101.0  # rounded to 0.1 each
    assert 0 <= cpu.get("irq", -1) <= cpu["sy"] + 0.1
    assert first.get("scope") == "host"
    assert first["mem"].get("avail_bytes", 0) > 0
    assert {"read_iops", "write_iops"} <= set(first["disk"])


def test_sample_without_prime_primes_itself() -> None:
    sample = PsutilSampler().sample(0)
    assert validate_sample(sample)["seq"] == 0


def test_iso_date_is_utc_with_milliseconds() -> None:
    assert iso_date(0.0) == "1970-01-01T00:00:00.000Z"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", iso_date(1_764_130_513.1239))
