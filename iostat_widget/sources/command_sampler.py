"""The write-up's way, as an optional source: run ``iostat`` (or ``vmstat``) and parse its lines.

psutil reads the kernel's counters directly and stays the default. This source exists for
machines where the system's own tool is the reference (its numbers are the ones operators know)
and to show the original design working: one child process for the whole server, its report
lines parsed into samples (see :mod:`~iostat_widget.sources.command_parsers`).

The child runs from :meth:`CommandSampler.start` to :meth:`CommandSampler.aclose` (the server
calls both), restarted with backoff if it exits, and keeps the newest reading. The hub asks for a
sample at its own interval, which need not match the command's. **When the command produced
nothing new since the last sample, the newest reading is reused** as long as it is younger than
``max_age`` (by default 2.5 command intervals + 0.5 s), so a hub ticking a little faster than the
command leaves no holes. An older reading (the child died, hangs, or has not reported yet) is not
sent: :meth:`sample` raises :class:`StaleReadingError` and the hub skips the tick, which viewers
draw as a gap rather than a frozen value.

A command's output has no network figures: ``net`` is always 0. ``disk`` is 0 where the output
has no separate read and write rates (macOS), and ``mem.used_pct`` is 0 where it cannot be
derived (``iostat``; ``vmstat`` with the machine's total from psutil gives it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Final

import psutil

from ..schema import CpuPercent, DiskRates, MemUsage, NetRates, Sample
from .base import NoReading, iso_date
from .child import ChildProcess
from .command_parsers import IostatParser, LineParser, Reading, VmstatParser
from .lines import Piece
from .topology import TopologyCache, block_roles

__all__ = [
    "COMMAND_SOURCES",
    "CommandSampler",
    "StaleReadingError",
    "command_sampler",
    "default_argv",
]

log = logging.getLogger(__name__)

COMMAND_SOURCES: Final = ("iostat", "vmstat")
_HINTS: Final = {"iostat": "install sysstat", "vmstat": "install procps"}
# Numbers with a decimal point and no colours, whatever the user's locale and sysstat settings.
_ENV: Final = {"LC_ALL": "C", "S_COLORS": "never"}


class StaleReadingError(NoReading):
    """No reading young enough to send; the hub skips this tick (a gap, not a frozen value)."""


class CommandSampler:
    """A :class:`~iostat_widget.sources.psutil_sampler.Sampler` fed by a command's report lines.

    ``argv`` is run without a shell; ``parser`` makes a fresh parser for each child (each one
    starts with its since-boot report). ``interval`` is the command's seconds between reports,
    sent as the samples' ``interval``. Counters: ``readings``, ``garbage`` (lines not
    understood), and the child's ``starts``/``exits`` on :attr:`child`.
    """

    def __init__(
        self,
        argv: Sequence[str],
        parser: Callable[[], LineParser],
        *,
        interval: float = 1.0,
        max_age: float | None = None,
        first_reading_timeout: float | None = None,
        host: str | None = None,
        clock: Callable[[], float] = time.time,
        env: Mapping[str, str] | None = None,
        backoff: tuple[float, float] = (0.5, 10.0),
        hint: str = "",
    ) -> None:
        self.interval = float(interval)
        self.max_age = max_age if max_age is not None else 2.5 * self.interval + 0.5
        self.first_reading_timeout = (
            first_reading_timeout if first_reading_timeout is not None else 2 * self.interval + 2
        )
        self.host = host if host is not None else socket.gethostname()
        self._clock = clock
        self._make_parser = parser
        self.parser = parser()
        self.child = ChildProcess(
            argv, self._on_piece, on_start=self._on_start, env=env, backoff=backoff, hint=hint
        )
        self.readings = 0  #: readings parsed, from every child
        self._garbage = 0  # from parsers of children that have ended, and overlong lines
        self._cut = False  # inside a line longer than the child's piece limit
        self._latest: tuple[Reading, float] | None = None  # and when it came (monotonic)
        self._arrived: asyncio.Event | None = None

    @property
    def garbage(self) -> int:
        """Lines no parser understood, over every child."""
        return self._garbage + self.parser.garbage

    @property
    def latest(self) -> Reading | None:
        """The newest reading, however old."""
        return self._latest[0] if self._latest is not None else None

    # -- the child ----------------------------------------------------------------------------
    def _on_start(self) -> None:
        self._garbage += self.parser.garbage
        self.parser = self._make_parser()
        self._cut = False

    def _on_piece(self, piece: Piece) -> None:
        if self._cut or not piece.end:  # a line too long to be a report line: skip it whole
            if piece.end:
                self._garbage += 1
            self._cut = not piece.end
            return
        reading = self.parser.feed(piece.text)
        if reading is not None:
            self._latest = (reading, time.monotonic())
            self.readings += 1
            if self._arrived is not None:
                self._arrived.set()

    async def start(self) -> None:
        """Start the child; wait (up to ``first_reading_timeout`` s) for its first reading.

        Raises :class:`~iostat_widget.sources.child.CommandNotFoundError` if the program is
        missing. A child that is slow to report does not fail the start: sampling skips ticks
        until a reading arrives.
        """
        self._arrived = asyncio.Event()
        if self._latest is not None:
            self._arrived.set()
        self.child.launch()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._arrived.wait(), self.first_reading_timeout)
        if self._latest is None:
            log.warning("%s has not reported yet; sampling starts when it does", self.child.name)

    async def aclose(self) -> None:
        """Stop the child and wait until it is gone."""
        await self.child.aclose()

    # -- the Sampler protocol -----------------------------------------------------------------
    def prime(self) -> None:
        """Start the child if :meth:`start` was not called (a hub driving this sampler alone)."""
        if not self.child.running:
            self.child.launch()

    def sample(self, seq: int) -> Sample:
        """The newest reading as sample ``seq``, stamped now; see the module for reuse rules."""
        latest = self._latest
        if latest is None:
            raise StaleReadingError(f"no reading from {self.child.name} yet")
        reading, at = latest
        age = time.monotonic() - at
        if age > self.max_age:
            raise StaleReadingError(f"no reading from {self.child.name} for {age:.1f} s")
        now = self._clock()
        cpu = reading.cpu or CpuPercent(us=0, sy=0, id=0, wa=0, st=0)
        disk = reading.disk or DiskRates(read_bps=0, write_bps=0)
        mem = reading.mem or MemUsage(used_pct=0)
        return Sample(
            seq=seq,
            t=round(now, 3),
            date=iso_date(now),
            host=self.host,
            interval=self.interval,
            cpu=CpuPercent(**cpu),
            disk=DiskRates(**disk),
            net=NetRates(rx_bps=0, tx_bps=0),
            mem=MemUsage(**mem),
            scope="host",
        )


def default_argv(source: str, interval: float, platform: str = sys.platform) -> list[str]:
    """The command run for ``source`` (``iostat`` or ``vmstat``) reporting every ``interval`` s.

    Both tools take whole seconds: the interval is rounded, at least 1. sysstat's ``iostat`` runs
    as ``iostat -d -c -k N`` (disks and CPU, kB), macOS's as ``iostat -w N``, ``vmstat -n N``.
    """
    seconds = str(max(1, round(interval)))
    if source == "iostat":
        if platform == "darwin":
            return ["iostat", "-w", seconds]
        return ["iostat", "-d", "-c", "-k", seconds]
    if source == "vmstat":
        return ["vmstat", "-n", seconds]
    raise ValueError(f"unknown command source {source!r}; choose from {COMMAND_SOURCES}")


def _skips_first_itself(argv: Sequence[str]) -> bool:
    """Whether the tool was told to leave out its since-boot report (``-y``, ``--no-first``)."""
    return any(
        arg == "--no-first" or (arg.startswith("-") and not arg.startswith("--") and "y" in arg)
        for arg in argv[1:]
    )


def command_sampler(
    source: str,
    *,
    interval: float = 1.0,
    argv: Sequence[str] | None = None,
    host: str | None = None,
    backoff: tuple[float, float] = (0.5, 10.0),
) -> CommandSampler:
    """A sampler running ``source``'s command, or ``argv`` instead (parsed as ``source``'s output).

    With the default command, ``interval`` is rounded to whole seconds (the tools' unit) and a
    missing program is reported as e.g. ``iostat not found; install sysstat``. With ``argv``, the
    command is taken to report every ``interval`` seconds.
    """
    custom = argv is not None
    command = list(argv) if argv is not None else default_argv(source, interval)
    skip_first = not _skips_first_itself(command)
    factory: Callable[[], LineParser]
    if source == "iostat":
        # One topology for the server's life, read again when iostat's device list changes.
        roles = TopologyCache(lambda names: block_roles(names, Path("/"))).get
        factory = lambda: IostatParser(skip_first=skip_first, roles=roles)  # noqa: E731
    elif source == "vmstat":
        total = float(psutil.virtual_memory().total)
        factory = lambda: VmstatParser(mem_total_bytes=total, skip_first=skip_first)  # noqa: E731
    else:
        raise ValueError(f"unknown command source {source!r}; choose from {COMMAND_SOURCES}")
    hint = "" if custom or sys.platform == "darwin" else _HINTS[source]
    return CommandSampler(
        command,
        factory,
        interval=interval if custom else max(1, round(interval)),
        host=host,
        env={**os.environ, **_ENV},
        backoff=backoff,
        hint=hint,
    )
