"""Who is busy: the machine's top processes by CPU, from two readings of every process's counters.

A reading maps each process, keyed by ``(pid, create time)`` so a reused pid is another process,
to a :class:`ProcSnapshot`: its name, its user, its CPU seconds so far (user + system) and its RSS
in bytes. :func:`top_rows` gives the ``n`` busiest over the interval between two readings as
:class:`TopRow` dicts, busiest first: ``cpu_pct`` is the growth of its CPU seconds over the
interval in % of **one core** (100 = one core busy all the time, as ``top`` and ``ps`` count;
a process using four cores reads 400); a process born since counts all its seconds, a counter
that went down counts 0. Pure; :func:`read_processes` reads every process with psutil
(``process_iter``, usernames looked up once per uid; on Linux
:mod:`.proc_top` reads ``/proc`` itself, cheaper), :class:`TopSampler` pairs readings from an
injectable reader and clock. A server samples it only while some viewer asks for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import psutil

from ..top_schema import MAX_NAME, MAX_USER, TopRow, fit_text

__all__ = [
    "ProcSnapshot",
    "Reading",
    "TopRow",
    "TopSampler",
    "default_reader",
    "read_processes",
    "top_rows",
    "user_name",
]

Reading = Mapping[tuple[int, float], "ProcSnapshot"]


class ProcSnapshot(NamedTuple):
    """One process's counters at one moment."""

    pid: int
    create_time: float  #: epoch seconds
    name: str
    user: str  #: the owner's name (its uid as text where it has none)
    cpu: float  #: user + system CPU seconds so far
    rss: float  #: resident set size, bytes


def top_rows(prev: Reading, cur: Reading, seconds: float, n: int) -> list[TopRow]:
    """The ``n`` processes of ``cur`` that used the most CPU since ``prev``, ``seconds`` earlier,
    busiest first (ties: the larger RSS first); CPU is 0 when no time passed. Names and users
    are cut to what the schema allows (:func:`~iostat_widget.top_schema.fit_text`)."""
    if n <= 0:
        return []
    scored: list[tuple[float, ProcSnapshot]] = []
    for key, now in cur.items():
        before = prev.get(key)
        used = now.cpu if before is None else max(now.cpu - before.cpu, 0.0)
        scored.append((100.0 * used / seconds if seconds > 0 else 0.0, now))
    scored.sort(key=lambda pair: (pair[0], pair[1].rss), reverse=True)
    return [
        TopRow(
            pid=s.pid,
            name=fit_text(s.name, MAX_NAME),
            user=fit_text(s.user, MAX_USER),
            cpu_pct=pct,
            rss_bytes=s.rss,
        )
        for pct, s in scored[:n]
    ]


_ATTRS = ["name", "uids", "cpu_times", "memory_info", "create_time"]


def read_processes(users: dict[int, str] | None = None) -> dict[tuple[int, float], ProcSnapshot]:
    """Every process psutil can read now (one that ends meanwhile, or whose counters are denied,
    is left out); ``users`` caches uid → name across calls."""
    users = {} if users is None else users
    found: dict[tuple[int, float], ProcSnapshot] = {}
    for process in psutil.process_iter(_ATTRS):
        info: dict[str, Any] = process.info
        cpu, memory, created = info["cpu_times"], info["memory_info"], info["create_time"]
        if cpu is None or memory is None or created is None:
            continue  # access denied
        uid = info["uids"].real if info["uids"] is not None else -1
        user = users.get(uid)
        if user is None:
            user = users[uid] = user_name(uid)
        found[(process.pid, created)] = ProcSnapshot(
            process.pid, created, info["name"] or "", user, cpu.user + cpu.system, memory.rss
        )
    return found


def user_name(uid: int) -> str:
    """The name of user ``uid``; its number as text where it has none, ``""`` for ``-1``."""
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return str(uid) if uid >= 0 else ""


def default_reader() -> Callable[[], Reading]:
    """This platform's cheapest reader, with its own uid cache: ``/proc`` read directly on Linux
    (:func:`~iostat_widget.sources.proc_top.read_proc`, about 10 µs per process against
    psutil's 36), psutil elsewhere."""
    from .proc_top import proc_readable, read_proc

    users: dict[int, str] = {}
    if proc_readable():
        return lambda: read_proc(users=users)
    return lambda: read_processes(users)


class TopSampler:
    """The busy table of the interval since the previous call. ``reader()`` returns a reading
    (default: :func:`default_reader`), ``clock()`` seconds that never step."""

    def __init__(
        self,
        reader: Callable[[], Reading] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.reader = reader if reader is not None else default_reader()
        self.clock = clock
        self._previous: tuple[float, Reading] | None = None

    def reset(self) -> None:
        """Forget the previous reading (the next :meth:`top` answers nothing)."""
        self._previous = None

    @property
    def primed(self) -> bool:
        """Whether a previous reading is held (the next :meth:`top` answers rows)."""
        return self._previous is not None

    def top(self, n: int) -> list[TopRow]:
        """Read now; the ``n`` busiest since the previous call (none the first time)."""
        reading = self.reader()
        now = self.clock()
        previous, self._previous = self._previous, (now, reading)
        if previous is None:
            return []
        return top_rows(previous[1], reading, now - previous[0], n)
