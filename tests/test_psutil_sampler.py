"""The psutil sampler on this machine: real counters, injected clock, schema-valid samples.

Container scope is tested on fixture cgroup trees whose counters are advanced between readings.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import socket
from pathlib import Path

import psutil

from iostat_widget.schema import validate_sample
from iostat_widget.sources.base import iso_date
from iostat_widget.sources.cgroup import read_cgroup
from iostat_widget.sources.psutil_sampler import PsutilSampler

from .test_cgroup import MiB, v1_tree, v2_tree, write


def burn_cpu(seconds_of_work: int = 200_000) -> None:
    data = b"x" * 1024
    for _ in range(seconds_of_work // 100):
        hashlib.sha256(data).digest()


def test_samples_are_valid_and_use_the_injected_clock(tmp_path: Path) -> None:
    ticks = itertools.count(1_800_000_000.0, 0.5)
    # An empty root and environment: no cgroup, no limits, so the whole machine (host scope).
    sampler = PsutilSampler(clock=lambda: next(ticks), host="test-host", root=tmp_path, environ={})
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


def two_seconds_apart() -> itertools.count[float]:
    return itertools.count(1_800_000_000.0, 2.0)


def test_default_sampler_scope_matches_this_machines_cgroup() -> None:
    sample = PsutilSampler().sample(0)
    expected = "host" if read_cgroup() is None else "container"
    assert validate_sample(sample)["scope"] == expected


def test_container_v2_percentages_from_advanced_counters(tmp_path: Path) -> None:
    leaf = v2_tree(tmp_path)  # 0.5 cores, 512 MiB
    ticks = two_seconds_apart()
    sampler = PsutilSampler(clock=lambda: next(ticks), host="ctr", root=tmp_path, environ={})
    sampler.prime()
    # 2 s at 0.5 cores = 1,000,000 us available; 500,000 us used: 400,000 user, 100,000 system.
    write(leaf, "cpu.stat", "usage_usec 1500000\nuser_usec 1200000\nsystem_usec 300000\n")
    write(leaf, "memory.current", f"{400 * MiB}\n")
    write(leaf, "memory.stat", f"inactive_file {16 * MiB}\n")  # 384 MiB of 512 in use
    sample = validate_sample(sampler.sample(0))
    assert sample["scope"] == "container" and sample["interval"] == 2.0
    assert sample["cpu"] == {"us": 40, "sy": 10, "id": 50, "wa": 0, "st": 0}
    assert sample["mem"] == {"used_pct": 75, "avail_bytes": 128 * MiB}
    assert {"read_bps", "write_bps"} <= set(sample["disk"])  # disk and net stay psutil's


def test_container_v1_percentages_from_advanced_counters(tmp_path: Path) -> None:
    v1_tree(tmp_path, quota="200000\n", limit=f"{1024 * MiB}\n")  # 2 cores, 1 GiB
    ticks = two_seconds_apart()
    sampler = PsutilSampler(clock=lambda: next(ticks), root=tmp_path, environ={})
    sampler.prime()
    acct = tmp_path / "sys/fs/cgroup/cpu,cpuacct"
    # 3 s of CPU time in 2 s of 2 cores = 75 %; ticks split it 2:1 between user and system.
    write(acct, "cpuacct.usage", "8000000000\n")
    write(acct, "cpuacct.stat", "user 500\nsystem 300\n")
    memory = tmp_path / "sys/fs/cgroup/memory"
    write(memory, "memory.usage_in_bytes", f"{512 * MiB}\n")
    write(memory, "memory.stat", "total_inactive_file 0\n")
    sample = validate_sample(sampler.sample(0))
    assert sample["scope"] == "container"
    assert sample["cpu"] == {"us": 50, "sy": 25, "id": 25, "wa": 0, "st": 0}
    assert sample["mem"] == {"used_pct": 50, "avail_bytes": 512 * MiB}


def test_env_cpu_limit_with_v2_counters_and_no_cgroup_limit(tmp_path: Path) -> None:
    leaf = v2_tree(tmp_path, cpu_max="max 100000\n", memory_max="max\n")
    ticks = two_seconds_apart()
    environ = {"CPU_LIMIT": "0.25"}
    sampler = PsutilSampler(clock=lambda: next(ticks), root=tmp_path, environ=environ)
    sampler.prime()
    write(leaf, "cpu.stat", "usage_usec 1100000\n")  # 100,000 us of 500,000 available: 20 %
    sample = validate_sample(sampler.sample(0))
    assert sample["scope"] == "container"
    assert sample["cpu"] == {"us": 20, "sy": 0, "id": 80, "wa": 0, "st": 0}
    total = psutil.virtual_memory().total  # no memory limit: the machine's memory is the limit
    used = 300 * MiB - 44 * MiB
    assert sample["mem"]["avail_bytes"] == total - used
    assert abs(sample["mem"]["used_pct"] - 100 * used / total) <= 0.05


def test_unlimited_cgroup_reports_the_host(tmp_path: Path) -> None:
    v2_tree(tmp_path, cpu_max="max 100000\n", memory_max="max\n")
    sample = PsutilSampler(root=tmp_path, environ={}).sample(0)
    assert sample["scope"] == "host" and "irq" in sample["cpu"]  # psutil's own figures


def test_garbled_cgroup_counters_fall_back_to_the_host_figures(tmp_path: Path) -> None:
    leaf = v2_tree(tmp_path, memory_max=f"{64 * MiB}\n")
    write(leaf, "cpu.stat", "usage_usec: lots\n")
    write(leaf, "memory.current", "?\n")
    sampler = PsutilSampler(root=tmp_path, environ={})
    sampler.prime()
    burn_cpu()
    sample = validate_sample(sampler.sample(0))
    assert sample["scope"] == "container"  # the limits were readable
    assert "irq" in sample["cpu"]  # ... the usage was not: CPU is the host's
    assert sample["mem"].get("avail_bytes", 0) > 64 * MiB  # and so is memory, not the limit's


def test_devices_are_listed_and_loopback_is_not_network(tmp_path: Path) -> None:
    sampler = PsutilSampler(root=tmp_path, environ={})
    sampler.prime()
    written = tmp_path / "written"
    with written.open("wb") as out:  # some disk traffic for the totals to add up
        out.write(os.urandom(4 * 1024 * 1024))
        out.flush()
        os.fsync(out.fileno())
    sent = 0
    with (
        socket.create_server(("127.0.0.1", 0)) as listener,
        socket.create_connection(listener.getsockname()) as client,
    ):
        peer, _ = listener.accept()
        with peer:
            chunk = b"x" * 65536
            while sent < 8 * 1024 * 1024:  # 8 MiB over loopback
                client.sendall(chunk)
                sent += len(chunk)
                received = 0
                while received < len(chunk):
                    received += len(peer.recv(len(chunk) - received))
    sample = sampler.sample(0)
    assert validate_sample(sample) == sample
    nics = sample.get("nics", {})
    assert "lo" not in nics
    used_nics = psutil.net_io_counters(pernic=True)  # every interface ever used, but lo
    assert set(nics) == {n for n, c in used_nics.items() if n != "lo" and any(c)}
    # 8 MiB crossed lo; the machine's network total must not show it.
    assert sample["net"]["rx_bps"] * sample["interval"] < 4 * 1024 * 1024
    disks = sample.get("disks", {})
    used = {name for name, c in psutil.disk_io_counters(perdisk=True).items() if any(c)}
    assert set(disks) == used  # every device used since boot, marked
    counted = {name: rates for name, rates in disks.items() if not rates.get("stacked")}
    assert counted, disks  # some device is not stacked on another
    for total in ("read_bps", "write_bps"):
        listed = sum(rates[total] for rates in counted.values())  # each rounded to 1 B/s
        assert abs(sample["disk"][total] - listed) <= len(counted), (total, disks)
