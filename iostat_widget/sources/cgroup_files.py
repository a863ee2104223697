"""Parsers of cgroup and /proc files: one function per file format, text in, values out.

Pure (no file access): :mod:`.cgroup` reads the files and hands their text here, so each format's
quirks are tested on strings. Every parser raises :class:`CgroupError` naming what it could not
understand.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "V1_UNLIMITED",
    "CgroupError",
    "parse_allowed_cpus",
    "parse_cfs_quota",
    "parse_cpu_list",
    "parse_cpu_max",
    "parse_int",
    "parse_keyed",
    "parse_memory_max",
    "parse_proc_cgroup",
    "parse_v1_memory_limit",
]

#: cgroup v1 spells "no memory limit" as a page-aligned LONG_MAX; anything this big is no limit.
V1_UNLIMITED: Final = 2**62


class CgroupError(ValueError):
    """A cgroup file or limit variable that cannot be understood; the message says which."""


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


#: More CPUs than any machine has: a list naming more is garbled, not a machine.
_MAX_CPUS: Final = 1 << 16


def parse_cpu_list(text: str) -> frozenset[int]:
    """A kernel CPU list (``cpuset.cpus.effective``, ``/sys/devices/system/cpu/online``):
    ``"0-3,8,10-11"`` → {0, 1, 2, 3, 8, 10, 11}; an empty file is an empty set."""
    cpus: set[int] = set()
    for part in text.strip().split(","):
        if not part:
            continue
        low, dash, high = part.partition("-")
        try:
            first, last = int(low), int(high) if dash else int(low)
        except ValueError:
            raise CgroupError(
                f"expected a CPU list like '0-3,8', got {text.strip()[:40]!r}"
            ) from None
        if not 0 <= first <= last < _MAX_CPUS:
            raise CgroupError(f"CPU range {part!r} is not a range of CPU numbers")
        cpus.update(range(first, last + 1))
    return frozenset(cpus)


def parse_allowed_cpus(status: str) -> frozenset[int]:
    """The ``Cpus_allowed_list`` of ``/proc/self/status``: the CPUs this process may run on."""
    for line in status.splitlines():
        name, _, value = line.partition(":")
        if name == "Cpus_allowed_list":
            return parse_cpu_list(value)
    raise CgroupError("no Cpus_allowed_list line")
