"""Container limits and usage from cgroup files, so a containerised server reports its own share.

Inside a container psutil reads /proc, which describes the whole host: a notebook limited to half
a core on a 64-core machine would look idle while it is being throttled. The kernel's cgroup files
say what the container may use and what it did use; mybinder.org also announces its limits in
``CPU_LIMIT`` (cores) and ``MEM_LIMIT`` (bytes). Pure on purpose (no psutil, no asyncio): every
file is read below an injectable ``root``, so each layout (cgroup v1, v2, none) is tested on a
fixture tree. A missing file counts as absent; a garbled one too, with a note in ``problems``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Final, Literal, TypeVar

__all__ = [
    "V1_UNLIMITED",
    "CgroupDirs",
    "CgroupError",
    "CgroupReading",
    "find_cgroup",
    "parse_cfs_quota",
    "parse_cpu_max",
    "parse_int",
    "parse_keyed",
    "parse_memory_max",
    "parse_proc_cgroup",
    "parse_v1_memory_limit",
    "read_cgroup",
    "read_cgroup_dirs",
]

#: cgroup v1 spells "no memory limit" as a page-aligned LONG_MAX; anything this big is no limit.
V1_UNLIMITED: Final = 2**62

_T = TypeVar("_T")
_N = TypeVar("_N", int, float)


def _user_hz() -> int:
    try:
        return int(os.sysconf("SC_CLK_TCK"))
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows): Linux's USER_HZ
        return 100


class CgroupError(ValueError):
    """A cgroup file or limit variable that cannot be understood; the message says which."""


@dataclass(frozen=True)
class CgroupDirs:
    """Where one process's cgroup files are: each tuple is its leaf directory, then ancestors."""

    version: Literal[1, 2]
    cpu: tuple[Path, ...]
    cpuacct: tuple[Path, ...]
    memory: tuple[Path, ...]


@dataclass(frozen=True)
class CgroupReading:
    """A container's limits and cumulative counters; ``None`` fields could not be read.

    ``cpu_limit`` is in cores, memory in bytes, CPU time in microseconds. ``version`` is None when
    the limits come only from the environment. ``problems`` lists files that were garbled.
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


# -- one parser per file format -------------------------------------------------------------------
def parse_int(text: str, *, allow_negative: bool = False) -> int:
    """A file holding one integer (``memory.current``, ``cpuacct.usage``, ``cpu.cfs_quota_us``)."""
    word = text.strip()
    try:
        value = int(word)
    except ValueError:
        raise CgroupError(f"expected an integer, got {word[:40]!r}") from None
    if value < 0 and not allow_negative:
        raise CgroupError(f"expected a non-negative integer, got {value}")
    return value


def parse_cpu_max(text: str) -> float | None:
    """v2 ``cpu.max``: ``"QUOTA PERIOD"`` in microseconds → cores; ``"max PERIOD"`` → None."""
    fields = text.split()
    if not 1 <= len(fields) <= 2:
        raise CgroupError(f"cpu.max: expected 'QUOTA PERIOD', got {text.strip()[:40]!r}")
    period = parse_int(fields[1]) if len(fields) == 2 else 100_000
    if fields[0] == "max":
        return None
    quota = parse_int(fields[0])
    if quota <= 0 or period <= 0:
        raise CgroupError(f"cpu.max: quota and period must be positive, got {text.strip()!r}")
    return quota / period


def parse_cfs_quota(quota_text: str, period_text: str) -> float | None:
    """v1 ``cpu.cfs_quota_us`` and ``cpu.cfs_period_us`` → cores; a quota of -1 → None."""
    quota = parse_int(quota_text, allow_negative=True)
    period = parse_int(period_text)
    if quota < 0:
        return None
    if quota == 0 or period == 0:
        raise CgroupError(f"cfs quota {quota} / period {period}: expected positive numbers")
    return quota / period


def parse_memory_max(text: str) -> int | None:
    """v2 ``memory.max``: bytes, or ``"max"`` for no limit (None)."""
    return None if text.strip() == "max" else parse_int(text)


def parse_v1_memory_limit(text: str) -> int | None:
    """v1 ``memory.limit_in_bytes``: bytes, or None for the huge value that means no limit."""
    value = parse_int(text, allow_negative=True)
    return None if value < 0 or value >= V1_UNLIMITED else value


def parse_keyed(text: str) -> dict[str, int]:
    """``cpu.stat``, ``memory.stat``, ``cpuacct.stat``: one ``name integer`` pair per line."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        fields = line.split()
        if len(fields) != 2:
            raise CgroupError(f"expected 'name value', got {line.strip()[:40]!r}")
        values[fields[0]] = parse_int(fields[1], allow_negative=True)
    return values


def parse_proc_cgroup(text: str) -> dict[str, str]:
    """``/proc/self/cgroup`` → {controller: path}; the v2 line ``0::/path`` gives key ``""``.

    v1 lines name one or more controllers (``4:cpu,cpuacct:/docker/abc``); each gets the path.
    Lines that are not ``ID:CONTROLLERS:PATH`` are skipped.
    """
    paths: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.strip().split(":", 2)
        if len(parts) != 3 or not parts[0].isdigit() or not parts[2].startswith("/"):
            continue
        for controller in parts[1].split(",") if parts[1] else [""]:
            paths[controller] = parts[2]
    return paths


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
        return CgroupDirs(2, chain, chain, chain)
    found: dict[str, tuple[Path, ...]] = {}
    for controller in ("cpu", "cpuacct", "memory"):
        mount = _v1_mount(base, controller)
        found[controller] = () if mount is None else _chain(mount, paths.get(controller, "/"))
    if not any(found.values()):
        return None
    return CgroupDirs(1, found["cpu"], found["cpuacct"], found["memory"])


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
    ``os.environ``) cap the cgroup's limits, or define them where the cgroup sets none. No limit
    from either means the process has the whole host: None (host scope). ``user_hz`` is the tick
    rate of v1's ``cpuacct.stat`` (default: the system's ``SC_CLK_TCK``).
    """
    return read_cgroup_dirs(find_cgroup(root), environ, user_hz=user_hz)


def read_cgroup_dirs(
    dirs: CgroupDirs | None, environ: Mapping[str, str] | None = None, *, user_hz: int | None = None
) -> CgroupReading | None:
    """:func:`read_cgroup` with the directories already found (a sampler finds them once)."""
    env = os.environ if environ is None else environ
    files = _Files()
    found = CgroupReading(None, None, None)
    if dirs is not None and dirs.version == 2:
        found = _read_v2(dirs, files)
    elif dirs is not None:
        found = _read_v1(dirs, files, user_hz if user_hz is not None else _user_hz())
    cpu_limit = _smallest((found.cpu_limit, _env_limit(env, "CPU_LIMIT", files.problems)))
    mem_limit = _smallest((found.mem_limit, _env_limit(env, "MEM_LIMIT", files.problems)))
    if cpu_limit is None and mem_limit is None:
        return None
    return replace(
        found,
        cpu_limit=cpu_limit,
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
