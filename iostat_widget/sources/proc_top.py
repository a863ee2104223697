"""Every process's counters read from Linux's ``/proc`` directly: the busy table's reader there.

psutil's ``process_iter`` costs ~36-44 µs per process (a ``Process`` object, several files and
calls each); a busy table needs five figures per process, which three small reads give:

- ``/proc/PID/stat``: the name (``comm``, between the first ``(`` and the **last** ``)``: a name
  may hold spaces and parentheses, ``(sd-pam)``, ``a) b``), user and system CPU time (fields 14
  and 15, clock ticks: ``SC_CLK_TCK`` per second) and the start time (field 22, ticks after boot:
  the process's identity with its pid);
- ``/proc/PID/statm``: the RSS (its second field, pages), as psutil reads it: the stat line's own
  RSS (field 24) can lag it by dozens of pages (per-thread counters not yet folded in);
- ``os.stat("/proc/PID").st_uid``: the owner, named through ``pwd`` once per uid.

A process that ends between the directory listing and its reads is left out, as psutil leaves it
out. :func:`read_proc` returns the same mapping as
:func:`~iostat_widget.sources.top_processes.read_processes`, so either feeds a
:class:`~iostat_widget.sources.top_processes.TopSampler`; ``root`` is injectable for tests.
"""

from __future__ import annotations

import os
from pathlib import Path

from .proc_stat import user_hz
from .top_processes import ProcSnapshot, user_name

__all__ = ["parse_stat", "proc_readable", "read_proc"]

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def proc_readable(root: str | Path = "/proc") -> bool:
    """Whether ``root`` is Linux's process table (this process's own ``stat`` is there)."""
    return os.path.exists(os.path.join(root, "self", "stat"))


def parse_stat(text: bytes, ticks_per_second: int, page_size: int) -> tuple[str, float, int, int]:
    """``/proc/PID/stat`` → ``(name, CPU seconds, start time in ticks after boot, RSS bytes)``.

    The name is undecodable bytes replaced (``\\ufffd``); CPU seconds are utime + stime.

    Raises:
        ValueError: not a stat line (no parentheses, too few fields, a field not a number).
    """
    first, last = text.find(b"("), text.rfind(b")")
    if first < 0 or last < first:
        raise ValueError("not a /proc/PID/stat line")
    fields = text[last + 2 :].split()  # field 3 (the state) is fields[0]
    if len(fields) < 22:
        raise ValueError("a /proc/PID/stat line with too few fields")
    name = text[first + 1 : last].decode("utf-8", "replace")
    cpu = (int(fields[11]) + int(fields[12])) / ticks_per_second
    return name, cpu, int(fields[19]), int(fields[21]) * page_size


def _boot_time(root: str) -> float:
    """Epoch seconds the machine booted (``btime`` in ``/proc/stat``); 0 where not found."""
    try:
        with open(os.path.join(root, "stat"), "rb") as stat:
            for line in stat:
                if line.startswith(b"btime "):
                    return float(line.split()[1])
    except OSError:
        pass
    return 0.0


def read_proc(
    root: str | Path = "/proc", users: dict[int, str] | None = None
) -> dict[tuple[int, float], ProcSnapshot]:
    """Every process under ``root`` now, keyed by ``(pid, create time)``, create time in epoch
    seconds as psutil gives it (boot time + start ticks / ``SC_CLK_TCK``). ``users`` caches
    uid → name across calls. A process that vanished or cannot be read is left out."""
    base = os.fspath(root)
    users = {} if users is None else users
    hz = user_hz()
    booted = _boot_time(base)
    found: dict[tuple[int, float], ProcSnapshot] = {}
    with os.scandir(base) as entries:
        for entry in entries:
            name = entry.name
            if not name.isdigit():
                continue
            folder = f"{base}/{name}"
            try:
                fd = os.open(f"{folder}/stat", os.O_RDONLY)
                try:
                    text = os.read(fd, 4096)
                finally:
                    os.close(fd)
                fd = os.open(f"{folder}/statm", os.O_RDONLY)
                try:
                    pages = os.read(fd, 512).split(maxsplit=2)[1]
                finally:
                    os.close(fd)
                uid = os.stat(folder).st_uid
                comm, cpu, start, _ = parse_stat(text, hz, _PAGE)
                rss = int(pages) * _PAGE
            except (OSError, ValueError, IndexError):
                continue  # ended meanwhile, or not readable: psutil leaves it out too
            user = users.get(uid)
            if user is None:
                user = users[uid] = user_name(uid)
            pid = int(name)
            created = booted + start / hz
            found[(pid, created)] = ProcSnapshot(pid, created, comm, user, cpu, rss)
    return found
