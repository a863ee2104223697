"""Shared pieces of the command-output parsers: the reading they produce and the number rules.

Kept apart from the parsers themselves so that each format's parser stays short; see
:mod:`iostat_widget.sources.command_parsers` for the formats.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from ..schema import CpuPercent, DiskRates, MemUsage
from .rates import rounded

__all__ = [
    "BANNER",
    "KIB",
    "MIB",
    "TIMESTAMP",
    "CommandParser",
    "LineParser",
    "Reading",
    "byte_rate",
    "cpu_shares",
    "parse_numbers",
]

_NUMBER: Final = re.compile(r"[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+")  # no sign: nothing is negative
BANNER: Final = re.compile(r"[A-Za-z][\w-]*\s+\S+\s+\(\S+\)\s+\S")
"""sysstat's first line, e.g. ``Linux 6.1.0 (host)  11/26/26  _x86_64_  (2 CPU)``."""
TIMESTAMP: Final = re.compile(
    r"[0-9]{2}/[0-9]{2}/[0-9]{2,4}\s+[0-9]{1,2}:[0-9]{2}:[0-9]{2}(\s*[AP]M)?"
    r"|[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\S*"
)
"""A report's time line (``iostat -t``)."""
_MAX_LINE: Final = 4096  # no report line of these tools is anywhere near this long
_MAX_PCT: Final = 100.5
_MAX_CPU_SUM: Final = 103.5  # six whole percents (vmstat) may each be rounded up by 0.5
_SCALE_ABOVE: Final = 100.1  # beyond two-decimal rounding (sysstat adds up to 100.01)
_MAX_RATE: Final = 1e15  # bytes/s, as the schema allows
KIB: Final = 1024.0
MIB: Final = 1024.0 * 1024.0


@dataclass(frozen=True, slots=True)
class Reading:
    """One complete report: the parts of a sample the output had (``None`` where it had none)."""

    cpu: CpuPercent | None = None
    disk: DiskRates | None = None
    mem: MemUsage | None = None


class LineParser(Protocol):
    """What the command sampler needs from a parser."""

    @property
    def garbage(self) -> int:
        """Lines that were not understood."""
        ...

    def feed(self, line: str) -> Reading | None:
        """Take one line; a :class:`Reading` when it completes a report."""
        ...


def parse_numbers(tokens: Sequence[str]) -> list[float] | None:
    """The tokens as numbers (``,`` taken as a decimal point), or ``None`` if one is not."""
    values = []
    for token in tokens:
        if not _NUMBER.fullmatch(token):
            return None
        value = float(token.replace(",", "."))
        if not math.isfinite(value):  # 400 digits parse as inf
            return None
        values.append(value)
    return values


def cpu_shares(us: float, sy: float, idle: float, wa: float, st: float) -> CpuPercent:
    """iostat's five shares, checked (``ValueError`` if impossible) and rounded.

    Whole percents (vmstat's) can add up to a little over 100; they are scaled to add up to 100,
    as a sample's shares do. sysstat's two decimals (at most 100.01 or so) are kept as printed.
    """
    shares = (us, sy, idle, wa, st)
    total = sum(shares)
    if max(shares) > _MAX_PCT or total > _MAX_CPU_SUM:
        raise ValueError("CPU shares out of range")
    scale = 100.0 / total if total > _SCALE_ABOVE else 1.0
    us, sy, idle, wa, st = (rounded(share * scale, 2) for share in shares)
    return CpuPercent(us=us, sy=sy, id=idle, wa=wa, st=st)


def byte_rate(value: float) -> float:
    """Bytes per second, checked against the schema's bound and rounded."""
    if value > _MAX_RATE:
        raise ValueError("rate out of range")
    return rounded(value, 0)


class CommandParser:
    """Base of the parsers: counters, the line-length guard and the since-boot skip."""

    def __init__(self, *, skip_first: bool = True) -> None:
        self.skip_first = skip_first
        self.garbage = 0  #: lines not understood, skipped
        self.readings = 0  #: readings handed out
        self.skipped = 0  #: reports dropped as averages since boot
        self._reports = 0

    def feed(self, line: str) -> Reading | None:
        """Take one line (with or without its newline); a :class:`Reading` when a report ends."""
        text = line.rstrip("\r\n")
        if len(text) > _MAX_LINE:
            self.garbage += 1
            return None
        try:
            return self._feed(text)
        except (ValueError, ArithmeticError, LookupError, RecursionError):
            self.garbage += 1  # shaped like a report line, but its values are not possible
            return None

    def _feed(self, text: str) -> Reading | None:
        raise NotImplementedError

    def _report(self, reading: Reading) -> Reading | None:
        self._reports += 1
        if self._reports == 1 and self.skip_first:
            self.skipped += 1
            return None
        self.readings += 1
        return reading
