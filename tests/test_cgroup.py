"""cgroup limits and counters: each file format, then v1/v2/no-limit/env-only fixture trees."""

from __future__ import annotations

from pathlib import Path

import pytest

from iostat_widget.sources.cgroup import CgroupReading, find_cgroup, read_cgroup
from iostat_widget.sources.cgroup_files import (
    CgroupError,
    parse_allowed_cpus,
    parse_cfs_quota,
    parse_cpu_list,
    parse_cpu_max,
    parse_int,
    parse_keyed,
    parse_memory_max,
    parse_proc_cgroup,
    parse_v1_memory_limit,
)
from iostat_widget.sources.container import container_cpu_percent, container_memory

MiB = 2**20
V1_NO_LIMIT = "9223372036854771712\n"  # what a v1 kernel writes for "no memory limit"


def write(root: Path, relative: str, text: str | bytes) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)


def v2_tree(
    root: Path,
    *,
    cpu_max: str = "50000 100000\n",
    memory_max: str = f"{512 * MiB}\n",
    cgroup: str = "/",
    where: str = "",
) -> Path:
    """A cgroup v2 mount; the cgroup's files in ``where`` below it (default: the mount root)."""
    write(root, "proc/self/cgroup", f"0::{cgroup}\n")
    write(root, "sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory pids\n")
    leaf = root / "sys/fs/cgroup" / where
    write(leaf, "cpu.max", cpu_max)
    write(leaf, "cpu.stat", "usage_usec 1000000\nuser_usec 800000\nsystem_usec 200000\n")
    write(leaf, "memory.max", memory_max)
    write(leaf, "memory.current", f"{300 * MiB}\n")
    write(leaf, "memory.stat", f"anon {200 * MiB}\nfile {100 * MiB}\ninactive_file {44 * MiB}\n")
    return leaf


def v1_tree(
    root: Path, *, quota: str = "150000\n", limit: str = f"{1024 * MiB}\n", split: bool = False
) -> None:
    """A cgroup v1 layout as Docker shows it: the container's cgroup is each mount's root."""
    cpu_dirs = ("cpu", "cpuacct") if split else ("cpu,cpuacct",)
    controllers = "\n".join(
        f"{n}:{name}:/docker/abc123" for n, name in enumerate((*cpu_dirs, "memory"), 2)
    )
    write(root, "proc/self/cgroup", f"12:pids:/docker/abc123\n{controllers}\n1:name=systemd:/\n")
    base = root / "sys/fs/cgroup"
    write(base / cpu_dirs[0], "cpu.cfs_quota_us", quota)
    write(base / cpu_dirs[0], "cpu.cfs_period_us", "100000\n")
    write(base / cpu_dirs[-1], "cpuacct.usage", "5000000000\n")  # ns
    write(base / cpu_dirs[-1], "cpuacct.stat", "user 300\nsystem 200\n")  # USER_HZ ticks
    write(base / "memory", "memory.limit_in_bytes", limit)
    write(base / "memory", "memory.usage_in_bytes", f"{600 * MiB}\n")
    write(base / "memory", "memory.stat", f"cache 1\ntotal_inactive_file {88 * MiB}\n")
    (base / "pids").mkdir(parents=True)


# -- one parser per file format -------------------------------------------------------------------
def test_cpu_max_is_cores_or_none() -> None:
    assert parse_cpu_max("50000 100000\n") == 0.5
    assert parse_cpu_max("200000 100000") == 2.0
    assert parse_cpu_max("max 100000\n") is None
    assert parse_cpu_max("max") is None
    for garbled in ("", "banana 100000", "50000 0", "0 100000", "1 2 3", "-5 100000"):
        with pytest.raises(CgroupError, match=r"cpu\.max|integer"):
            parse_cpu_max(garbled)


def test_cfs_quota_minus_one_is_no_limit() -> None:
    assert parse_cfs_quota("-1\n", "100000\n") is None
    assert parse_cfs_quota("50000\n", "100000\n") == 0.5
    assert parse_cfs_quota("250000", "100000") == 2.5
    with pytest.raises(CgroupError, match="integer"):
        parse_cfs_quota("lots", "100000")
    with pytest.raises(CgroupError, match="positive"):
        parse_cfs_quota("50000", "0")


def test_memory_limits_v2_max_and_v1_huge_value_mean_none() -> None:
    assert parse_memory_max("max\n") is None
    assert parse_memory_max(f"{512 * MiB}\n") == 512 * MiB
    assert parse_v1_memory_limit(V1_NO_LIMIT) is None
    assert parse_v1_memory_limit(f"{512 * MiB}\n") == 512 * MiB
    with pytest.raises(CgroupError, match="integer"):
        parse_memory_max("a lot")
    with pytest.raises(CgroupError, match="non-negative"):
        parse_int("-3")


def test_keyed_files_parse_and_garbled_lines_are_named() -> None:
    assert parse_keyed("usage_usec 10\nuser_usec 7\n\nsystem_usec 3\n") == {
        "usage_usec": 10,
        "user_usec": 7,
        "system_usec": 3,
    }
    assert parse_keyed("") == {}
    with pytest.raises(CgroupError, match="'usage_usec'"):
        parse_keyed("usage_usec\n")
    with pytest.raises(CgroupError, match="integer"):
        parse_keyed("user 12.5\n")


def test_proc_self_cgroup_maps_each_controller_to_its_path() -> None:
    hybrid = "4:memory:/process_api/bb6c\n2:cpuacct:/\n1:cpu:/\n0::/\n"
    assert parse_proc_cgroup(hybrid) == {
        "memory": "/process_api/bb6c",
        "cpuacct": "/",
        "cpu": "/",
        "": "/",
    }
    v1 = "5:cpu,cpuacct:/docker/abc\n3:memory:/docker/abc\n1:name=systemd:/init.scope\n"
    paths = parse_proc_cgroup(v1)
    assert paths["cpu"] == paths["cpuacct"] == paths["memory"] == "/docker/abc"
    assert paths["name=systemd"] == "/init.scope"
    assert parse_proc_cgroup("garbage\nx:cpu:/a\n7:cpu:relative\n") == {}


# -- detection over fixture trees -----------------------------------------------------------------
def test_v2_limits_and_counters(tmp_path: Path) -> None:
    v2_tree(tmp_path)
    reading = read_cgroup(tmp_path, {})
    assert reading == CgroupReading(
        version=2,
        cpu_limit=0.5,
        mem_limit=512 * MiB,
        cpu_usage_usec=1_000_000,
        cpu_user_usec=800_000,
        cpu_system_usec=200_000,
        mem_current=300 * MiB,
        mem_inactive_file=44 * MiB,
    )


def test_v2_without_limits_is_host_scope(tmp_path: Path) -> None:
    v2_tree(tmp_path, cpu_max="max 100000\n", memory_max="max\n")
    assert find_cgroup(tmp_path) is not None
    assert read_cgroup(tmp_path, {}) is None


def test_v2_nested_cgroup_takes_the_smallest_limit_of_its_ancestors(tmp_path: Path) -> None:
    leaf = v2_tree(
        tmp_path,
        cpu_max="max 100000\n",
        memory_max="max\n",
        cgroup="/kubepods/pod1/ctr",
        where="kubepods/pod1/ctr",
    )
    pod = leaf.parent
    write(pod, "cpu.max", "25000 100000\n")
    write(pod, "memory.max", f"{256 * MiB}\n")
    write(pod.parent, "memory.max", f"{4096 * MiB}\n")
    reading = read_cgroup(tmp_path, {})
    assert reading is not None
    assert (reading.cpu_limit, reading.mem_limit) == (0.25, 256 * MiB)
    assert reading.mem_current == 300 * MiB  # counters come from the leaf itself


def test_v2_container_that_sees_its_cgroup_as_the_mount_root(tmp_path: Path) -> None:
    v2_tree(tmp_path, cgroup="/system.slice/docker-abc.scope")  # that path is not mounted here
    dirs = find_cgroup(tmp_path)
    assert dirs is not None and dirs.cpu == (tmp_path / "sys/fs/cgroup",)
    reading = read_cgroup(tmp_path, {})
    assert reading is not None and reading.cpu_limit == 0.5


def test_v1_combined_cpu_cpuacct_mount(tmp_path: Path) -> None:
    v1_tree(tmp_path)
    reading = read_cgroup(tmp_path, {}, user_hz=100)
    assert reading == CgroupReading(
        version=1,
        cpu_limit=1.5,
        mem_limit=1024 * MiB,
        cpu_usage_usec=5_000_000,
        cpu_user_usec=3_000_000,
        cpu_system_usec=2_000_000,
        mem_current=600 * MiB,
        mem_inactive_file=88 * MiB,
    )


def test_v1_separate_mounts_with_no_limit_is_host_scope(tmp_path: Path) -> None:
    v1_tree(tmp_path, quota="-1\n", limit=V1_NO_LIMIT, split=True)
    dirs = find_cgroup(tmp_path)
    assert dirs is not None and dirs.version == 1
    assert dirs.cpu[0].name == "cpu" and dirs.cpuacct[0].name == "cpuacct"
    assert read_cgroup(tmp_path, {}) is None


def test_fractional_env_cpu_limit_defines_a_limit_the_cgroup_lacks(tmp_path: Path) -> None:
    v1_tree(tmp_path, quota="-1\n", limit=V1_NO_LIMIT, split=True)
    reading = read_cgroup(tmp_path, {"CPU_LIMIT": "0.5"}, user_hz=100)
    assert reading is not None
    assert (reading.version, reading.cpu_limit, reading.mem_limit) == (1, 0.5, None)
    assert reading.cpu_usage_usec == 5_000_000  # the counters still come from the cgroup


def test_env_limits_cap_the_cgroup_and_never_raise_it(tmp_path: Path) -> None:
    v2_tree(tmp_path, cpu_max="200000 100000\n")
    capped = read_cgroup(tmp_path, {"CPU_LIMIT": "0.5", "MEM_LIMIT": str(128 * MiB)})
    assert capped is not None and (capped.cpu_limit, capped.mem_limit) == (0.5, 128 * MiB)
    looser = read_cgroup(tmp_path, {"CPU_LIMIT": "4", "MEM_LIMIT": str(8192 * MiB)})
    assert looser is not None and (looser.cpu_limit, looser.mem_limit) == (2.0, 512 * MiB)


def test_env_only_limits_without_any_cgroup(tmp_path: Path) -> None:
    assert find_cgroup(tmp_path) is None
    assert read_cgroup(tmp_path, {}) is None
    reading = read_cgroup(tmp_path, {"CPU_LIMIT": "2", "MEM_LIMIT": "1073741824"})
    assert reading == CgroupReading(version=None, cpu_limit=2.0, mem_limit=1073741824)


def test_garbled_env_values_are_ignored_with_a_note(tmp_path: Path) -> None:
    assert read_cgroup(tmp_path, {"CPU_LIMIT": "lots", "MEM_LIMIT": "-1"}) is None
    reading = read_cgroup(tmp_path, {"CPU_LIMIT": "nan", "MEM_LIMIT": "1e9"})
    assert reading is not None and (reading.cpu_limit, reading.mem_limit) == (None, 10**9)
    assert any("$CPU_LIMIT" in problem for problem in reading.problems)
    assert read_cgroup(tmp_path, {"CPU_LIMIT": "  "}) is None  # empty means unset


def test_garbled_and_unreadable_files_count_as_absent_never_crash(tmp_path: Path) -> None:
    leaf = v2_tree(tmp_path, cpu_max="banana\n")
    write(leaf, "memory.current", b"\xff\xfe\x00")
    (leaf / "cpu.stat").unlink()
    (leaf / "cpu.stat").mkdir()  # reading a directory fails with an OSError
    reading = read_cgroup(tmp_path, {})
    assert reading is not None
    assert (reading.cpu_limit, reading.mem_limit) == (None, 512 * MiB)
    assert reading.mem_current is None and reading.cpu_usage_usec is None
    noted = " ".join(reading.problems)
    assert "cpu.max" in noted and "memory.current" in noted and "cpu.stat" in noted
    write(leaf, "memory.max", "unlimited-ish\n")
    assert read_cgroup(tmp_path, {}) is None  # no readable limit left: host scope


def test_missing_files_are_simply_absent(tmp_path: Path) -> None:
    leaf = v2_tree(tmp_path, cpu_max="max\n")
    for name in ("cpu.stat", "memory.current", "memory.stat"):
        (leaf / name).unlink()
    (tmp_path / "proc/self/cgroup").unlink()  # no /proc: the mount root is the cgroup
    reading = read_cgroup(tmp_path, {})
    assert reading == CgroupReading(version=2, cpu_limit=None, mem_limit=512 * MiB)


# -- the container maths --------------------------------------------------------------------------
def reading(usage: float, user: float, system: float, current: int = 0) -> CgroupReading:
    return CgroupReading(2, 0.5, 512 * MiB, usage, user, system, current, 0)


def test_container_cpu_is_usage_over_the_limit_split_user_system() -> None:
    cpu = container_cpu_percent(reading(0, 0, 0), reading(500_000, 400_000, 100_000), 2.0, 0.5)
    assert cpu == {"us": 40, "sy": 10, "id": 50, "wa": 0, "st": 0}


def test_container_cpu_clamps_bursts_and_handles_resets_and_gaps() -> None:
    burst = container_cpu_percent(reading(0, 0, 0), reading(3e6, 3e6, 0), 1.0, 1.0)
    assert burst == {"us": 100, "sy": 0, "id": 0, "wa": 0, "st": 0}
    reset = container_cpu_percent(reading(9e6, 8e6, 1e6), reading(1e3, 1e3, 0), 1.0, 1.0)
    assert reset is not None and (reset["us"], reset["id"]) == (0.1, 99.9)  # 1 ms since reset
    no_split = CgroupReading(2, 1.0, None, cpu_usage_usec=0)
    later = CgroupReading(2, 1.0, None, cpu_usage_usec=250_000)
    assert container_cpu_percent(no_split, later, 1.0, 1.0) == {
        "us": 25,
        "sy": 0,
        "id": 75,
        "wa": 0,
        "st": 0,
    }
    assert container_cpu_percent(CgroupReading(2, 1.0, None), later, 1.0, 1.0) is None
    assert container_cpu_percent(no_split, later, 0.0, 1.0) is None


def test_container_memory_subtracts_inactive_file_and_caps_at_the_host() -> None:
    limited = CgroupReading(2, None, 512 * MiB, mem_current=300 * MiB, mem_inactive_file=44 * MiB)
    assert container_memory(limited, host_total=8192 * MiB) == {
        "used_pct": 50,
        "avail_bytes": 256 * MiB,
    }
    unlimited = CgroupReading(2, 1.0, None, mem_current=1024 * MiB)
    assert container_memory(unlimited, host_total=4096 * MiB) == {
        "used_pct": 25,
        "avail_bytes": 3072 * MiB,
    }
    too_big = CgroupReading(2, None, 10**15, mem_current=1024 * MiB)
    assert container_memory(too_big, host_total=2048 * MiB) == {
        "used_pct": 50,
        "avail_bytes": 1024 * MiB,
    }
    assert container_memory(CgroupReading(2, None, 512 * MiB), 4096 * MiB) is None


# -- cpusets --------------------------------------------------------------------------------------
def test_cpu_lists_parse_ranges_and_singles() -> None:
    assert parse_cpu_list("0-3,8,10-11\n") == {0, 1, 2, 3, 8, 10, 11}
    assert parse_cpu_list("5") == {5}
    assert parse_cpu_list("\n") == frozenset()
    for garbled in ("0-", "a-b", "3-1", "1,,x", "-1", "0-99999999"):
        with pytest.raises(CgroupError):
            parse_cpu_list(garbled)


def test_allowed_cpus_from_proc_self_status() -> None:
    status = "Name:\tpython3\nCpus_allowed:\t3\nCpus_allowed_list:\t0-1\nMems_allowed:\t1\n"
    assert parse_allowed_cpus(status) == {0, 1}
    with pytest.raises(CgroupError, match="Cpus_allowed_list"):
        parse_allowed_cpus("Name:\tx\n")


def test_a_cpuset_narrower_than_the_machine_is_a_cpu_limit(tmp_path: Path) -> None:
    leaf = v2_tree(tmp_path, cpu_max="max 100000\n", memory_max="max\n")
    write(tmp_path, "sys/devices/system/cpu/online", "0-63\n")
    write(leaf, "cpuset.cpus.effective", "4-7\n")
    reading = read_cgroup(tmp_path, {})
    assert reading is not None and reading.cpu_limit == 4.0
    write(leaf, "cpuset.cpus.effective", "0-63\n")  # the whole machine: no limit at all
    assert read_cgroup(tmp_path, {}) is None


def test_affinity_stands_in_for_a_missing_cpuset_but_limits_nothing_alone(tmp_path: Path) -> None:
    v2_tree(tmp_path, cpu_max="max 100000\n", memory_max="max\n")
    write(tmp_path, "sys/devices/system/cpu/online", "0-7\n")
    write(tmp_path, "proc/self/status", "Cpus_allowed_list:\t0\n")  # taskset -c 0
    assert read_cgroup(tmp_path, {}) is None  # a pinned process on a host is still the host
    reading = read_cgroup(tmp_path, {"MEM_LIMIT": str(512 * MiB)})
    assert reading is not None and reading.cpu_limit == 1.0  # ... but inside limits it binds


def test_smallest_of_quota_cpuset_and_cpu_limit(tmp_path: Path) -> None:
    leaf = v2_tree(tmp_path, cpu_max="300000 100000\n")  # 3 cores of quota
    write(tmp_path, "sys/devices/system/cpu/online", "0-15\n")
    write(leaf, "cpuset.cpus.effective", "0-1\n")
    assert (reading := read_cgroup(tmp_path, {})) is not None and reading.cpu_limit == 2.0
    assert (reading := read_cgroup(tmp_path, {"CPU_LIMIT": "0.5"})) and reading.cpu_limit == 0.5


def test_v1_cpuset_mount_and_garbled_cpuset_file(tmp_path: Path) -> None:
    v1_tree(tmp_path, quota="-1\n")
    write(tmp_path, "sys/devices/system/cpu/online", "0-7\n")
    cpuset = tmp_path / "sys/fs/cgroup/cpuset"
    write(cpuset, "cpuset.effective_cpus", "6\n")
    reading = read_cgroup(tmp_path, {})
    assert reading is not None and reading.cpu_limit == 1.0
    write(cpuset, "cpuset.effective_cpus", "six\n")
    write(cpuset, "cpuset.cpus", "2-3\n")  # the configured set, when the effective one is odd
    reading = read_cgroup(tmp_path, {})
    assert reading is not None and reading.cpu_limit == 2.0
    assert any("cpuset.effective_cpus" in problem for problem in reading.problems)


def test_cpus_of_a_cpuset_that_are_offline_do_no_work(tmp_path: Path) -> None:
    v1_tree(tmp_path, quota="-1\n")
    write(tmp_path, "sys/devices/system/cpu/online", "0-3\n")
    write(tmp_path, "sys/fs/cgroup/cpuset/cpuset.effective_cpus", "2-5\n")  # 4 and 5 offline
    reading = read_cgroup(tmp_path, {})
    assert reading is not None and reading.cpu_limit == 2.0
