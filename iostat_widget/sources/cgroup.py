"""Container limits and usage from cgroup files, so a containerised server reports its own share.

Inside a container psutil reads /proc, which describes the whole host: a notebook limited to half
a core on a 64-core machine would look idle while it is being throttled. The kernel's cgroup files
say what the container may use and what it did use; mybinder.org also announces its limits in
``CPU_LIMIT`` (cores) and ``MEM_LIMIT`` (bytes). A container pinned to a cpuset may use only
those CPUs, whatever its quota says. Pure on purpose (no psutil, no asyncio): every file is read
below an injectable ``root``, so each layout (cgroup v1, v2, none) is tested on a fixture tree.
A missing file counts as absent; a garbled one too, with a note in ``problems``. The formats'
parsers are in :mod:`.cgroup_files`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Literal, TypeVar

from .cgroup_files import (
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
from .proc_stat import user_hz as system_user_hz

__all__ = [
    "CgroupDirs",
    "CgroupReading",
    "find_cgroup",
    "read_cgroup",
    "read_cgroup_dirs",
]

_T = TypeVar("_T")
_N = TypeVar("_N", int, float)


@dataclass(frozen=True)
class CgroupDirs:
    """Where one process's cgroup files are: each tuple is its leaf directory, then ancestors."""

    version: Literal[1, 2]
    cpu: tuple[Path, ...]
    cpuacct: tuple[Path, ...]
    memory: tuple[Path, ...]
    cpuset: tuple[Path, ...] = ()


@dataclass(frozen=True)
class CgroupReading:
    """A container's limits and cumulative counters; ``None`` fields could not be read.

    ``cpu_limit`` is the cores the container can use: the smallest of its CFS quota, the number
    of CPUs in its cpuset (``cpuset.cpus.effective``; where no cpuset file is readable, this
    process's ``Cpus_allowed_list``) and ``CPU_LIMIT``; None when none of them is known. Memory
    is in bytes, CPU time in microseconds. ``version`` is None when the limits come only from the
    environment. ``problems`` lists files that were garbled.
    """

    version: Literal[1, 2] | None
    cpu_limit: float | None
    mem_limit: int | None
    cpu_usage_usec: float | None = None
    cpu_user_usec: float | None = None
    cpu_system_usec: float | None = None
    mem_current: int | None = None
    mem_inactive_file: int = 0
    problems: tuple[str, ...] = ()


# -- where the files are --------------------------------------------------------------------------
def _chain(mount: Path, cgroup_path: str) -> tuple[Path, ...]:
    """The cgroup's directory and its ancestors up to the mount, leaf first.

    A container usually sees its own cgroup as the mount's root while /proc/self/cgroup still
    names the host's path: when that path is not there, the mount itself is the cgroup.
    """
    parts = PurePosixPath(cgroup_path).parts[1:]
    if ".." in parts or not mount.joinpath(*parts).is_dir():
        parts = ()
    return tuple(mount.joinpath(*parts[:end]) for end in range(len(parts), -1, -1))


def _v1_mount(base: Path, controller: str) -> Path | None:
    # "cpu,cpuacct", "cpu" and "cpuacct" are all common names of a v1 mount; match by controller.
    try:
        names = sorted(entry.name for entry in base.iterdir() if entry.is_dir())
    except OSError:
        return None
    return next((base / name for name in names if controller in name.split(",")), None)


def find_cgroup(root: Path = Path("/")) -> CgroupDirs | None:
    """Locate this process's cgroup directories under ``root``; None when there is no cgroup."""
    base = root / "sys" / "fs" / "cgroup"
    try:
        paths = parse_proc_cgroup((root / "proc" / "self" / "cgroup").read_text())
    except (OSError, UnicodeDecodeError):
        paths = {}
    if (base / "cgroup.controllers").is_file():
        chain = _chain(base, paths.get("", "/"))
        return CgroupDirs(2, chain, chain, chain, chain)
    found: dict[str, tuple[Path, ...]] = {}
    for controller in ("cpu", "cpuacct", "memory", "cpuset"):
        mount = _v1_mount(base, controller)
        found[controller] = () if mount is None else _chain(mount, paths.get(controller, "/"))
    if not any(found.values()):
        return None
    return CgroupDirs(1, found["cpu"], found["cpuacct"], found["memory"], found["cpuset"])


# -- reading --------------------------------------------------------------------------------------
class _Files:
    """Reads and parses files, turning every failure into "absent" plus a note."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def text(self, path: Path) -> str | None:
        try:
            return path.read_text()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except (OSError, UnicodeDecodeError) as err:
            self.problems.append(f"{path}: {err}")
            return None

    def parse(self, directory: Path | None, name: str, parser: Callable[[str], _T]) -> _T | None:
        text = None if directory is None else self.text(directory / name)
        if directory is None or text is None:
            return None
        try:
            return parser(text)
        except CgroupError as err:
            self.problems.append(f"{directory / name}: {err}")
            return None


def _smallest(values: Iterable[_N | None]) -> _N | None:
    # A limit set on any ancestor (or in the environment) binds too: the smallest one wins.
    present = [value for value in values if value is not None]
    return min(present) if present else None


def _scaled(value: int | None, factor: float) -> float | None:
    return None if value is None else value * factor


def _env_limit(environ: Mapping[str, str], name: str, problems: list[str]) -> float | None:
    text = environ.get(name, "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        problems.append(f"${name}={text[:40]!r}: expected a positive number; ignored")
        return None
    return value


def read_cgroup(
    root: Path = Path("/"), environ: Mapping[str, str] | None = None, *, user_hz: int | None = None
) -> CgroupReading | None:
    """The limits and counters of the container this process runs in, or None for no limit.

    ``CPU_LIMIT`` (cores, may be fractional) and ``MEM_LIMIT`` (bytes) in ``environ`` (default
    ``os.environ``) cap the cgroup's limits, or define them where the cgroup sets none. A cgroup
    cpuset narrower than the machine's online CPUs (``root/sys/devices/system/cpu/online``) is a
    CPU limit too. No limit from any of them means the process has the whole host: None (host
    scope). ``user_hz`` is the tick rate of v1's ``cpuacct.stat`` (default: ``SC_CLK_TCK``).
    """
    return read_cgroup_dirs(find_cgroup(root), environ, user_hz=user_hz, root=root)


def _cpuset(dirs: CgroupDirs | None, files: _Files) -> frozenset[int] | None:
    # The leaf's effective set already reflects its ancestors'; v1 names it differently, and an
    # old v1 kernel has only the configured set.
    if dirs is None:
        return None
    names = ("cpuset.cpus.effective",) if dirs.version == 2 else ("cpuset.effective_cpus",)
    for directory in dirs.cpuset:
        for name in (*names, "cpuset.cpus"):
            cpus = files.parse(directory, name, parse_cpu_list)
            if cpus:
                return cpus
    return None


def _cpu_count(cpus: frozenset[int] | None) -> float | None:
    return float(len(cpus)) if cpus else None


def read_cgroup_dirs(
    dirs: CgroupDirs | None,
    environ: Mapping[str, str] | None = None,
    *,
    user_hz: int | None = None,
    root: Path = Path("/"),
) -> CgroupReading | None:
    """:func:`read_cgroup` with the directories already found (a sampler finds them once).

    ``root`` is where ``proc/self/status`` (this process's allowed CPUs) and
    ``sys/devices/system/cpu/online`` are read.
    """
    env = os.environ if environ is None else environ
    files = _Files()
    found = CgroupReading(None, None, None)
    if dirs is not None and dirs.version == 2:
        found = _read_v2(dirs, files)
    elif dirs is not None:
        found = _read_v1(dirs, files, user_hz if user_hz is not None else system_user_hz())
    env_cpu = _env_limit(env, "CPU_LIMIT", files.problems)
    cpuset = _cpuset(dirs, files)
    online = files.parse(root / "sys" / "devices" / "system" / "cpu", "online", parse_cpu_list)
    machine = len(online) if online else (os.cpu_count() or 0)
    if cpuset and online:  # a configured set can name CPUs that are offline: they do no work
        cpuset = cpuset & online or cpuset
    pinned = _cpu_count(cpuset) if cpuset and len(cpuset) < machine else None
    mem_limit = _smallest((found.mem_limit, _env_limit(env, "MEM_LIMIT", files.problems)))
    if _smallest((found.cpu_limit, env_cpu, pinned)) is None and mem_limit is None:
        return None
    if cpuset is None:  # no cpuset file: the CPUs this process may use stand in for it
        cpuset = files.parse(root / "proc" / "self", "status", parse_allowed_cpus)
    return replace(
        found,
        cpu_limit=_smallest((found.cpu_limit, env_cpu, _cpu_count(cpuset))),
        mem_limit=None if mem_limit is None else int(mem_limit),
        problems=tuple(files.problems),
    )


def _read_v2(dirs: CgroupDirs, files: _Files) -> CgroupReading:
    leaf = dirs.cpu[0]
    stat = files.parse(leaf, "cpu.stat", parse_keyed) or {}
    memory = files.parse(leaf, "memory.stat", parse_keyed) or {}
    return CgroupReading(
        version=2,
        cpu_limit=_smallest(files.parse(d, "cpu.max", parse_cpu_max) for d in dirs.cpu),
        mem_limit=_smallest(files.parse(d, "memory.max", parse_memory_max) for d in dirs.memory),
        cpu_usage_usec=_scaled(stat.get("usage_usec"), 1.0),
        cpu_user_usec=_scaled(stat.get("user_usec"), 1.0),
        cpu_system_usec=_scaled(stat.get("system_usec"), 1.0),
        mem_current=files.parse(leaf, "memory.current", parse_int),
        mem_inactive_file=max(memory.get("inactive_file", 0), 0),
    )


def _read_v1(dirs: CgroupDirs, files: _Files, user_hz: int) -> CgroupReading:
    def cfs(directory: Path) -> float | None:
        period = files.text(directory / "cpu.cfs_period_us")
        if period is None:
            return None
        return files.parse(directory, "cpu.cfs_quota_us", lambda q: parse_cfs_quota(q, period))

    acct = dirs.cpuacct[0] if dirs.cpuacct else None
    mem = dirs.memory[0] if dirs.memory else None
    ticks = files.parse(acct, "cpuacct.stat", parse_keyed) or {}
    stat = files.parse(mem, "memory.stat", parse_keyed) or {}
    limits = (files.parse(d, "memory.limit_in_bytes", parse_v1_memory_limit) for d in dirs.memory)
    return CgroupReading(
        version=1,
        cpu_limit=_smallest(cfs(d) for d in dirs.cpu),
        mem_limit=_smallest(limits),
        cpu_usage_usec=_scaled(files.parse(acct, "cpuacct.usage", parse_int), 1e-3),  # ns
        cpu_user_usec=_scaled(ticks.get("user"), 1e6 / user_hz),  # USER_HZ ticks
        cpu_system_usec=_scaled(ticks.get("system"), 1e6 / user_hz),
        mem_current=files.parse(mem, "memory.usage_in_bytes", parse_int),
        mem_inactive_file=max(stat.get("total_inactive_file", stat.get("inactive_file", 0)), 0),
    )
