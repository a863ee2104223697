"""Parsers for what ``iostat`` and ``vmstat`` print, turned into partial samples.

The 2010 way to watch a machine was to run its ``iostat`` and parse each line it printed. These
parsers keep that way available next to psutil. Fed one line at a time, a parser hands back a
:class:`Reading` (CPU shares, disk rates, memory where the output allows) each time a report is
complete. They are pure (no asyncio, no subprocess) so the rules are tested on captured outputs;
a line they do not understand is counted in ``garbage`` and skipped, never raised.

Formats understood:

* sysstat ``iostat`` (Linux), text or ``-o JSON``: an ``avg-cpu:`` header and its values line,
  then a ``Device`` block (``Device:`` before sysstat 11) of one row per disk. Throughput comes
  from whichever column the version prints: ``rkB/s``/``wkB/s`` (``-x``), ``kB_read/s``/
  ``kB_wrtn/s``, their ``MB`` forms, or 512-byte ``rsec/s``/``Blk_read/s``; ``r/s``/``w/s`` give
  IOPS. The totals count the devices the psutil sampler counts (:mod:`.topology`): a partition,
  device-mapper, md, bcache or file-backed loop device is left out, its I/O being counted on the
  device beneath it (decided from sysfs under ``serve``, from the names alone otherwise).
* BSD/macOS ``iostat -w 1``: a group header (``disk0 cpu load average``), a column header
  (``KB/t tps MB/s us sy id 1m 5m 15m``), then one values line per interval. Its ``MB/s`` mixes
  reads and writes, which a sample keeps apart, so the reading has CPU only.
* procps ``vmstat 1`` (Linux): ``r b swpd free buff cache si so bi bo in cs us sy id wa st
  [gu]``, with ``-t`` timestamps allowed. ``bi``/``bo`` are 1 KiB blocks per second. Memory in
  use needs the machine's total, which the output lacks: pass ``mem_total_bytes``.

The first report of each tool is an average since boot, not the last interval: it is skipped
(``skip_first=True``) unless the tool was told to leave it out itself (``iostat -y``,
``vmstat -y``). sysstat's CPU-only output (``iostat -c``) cannot show where a report ends until
the second one starts; from then on each report is handed out at the blank line that follows it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from ..schema import DiskRates, MemUsage
from .rates import rounded
from .report_parsing import (
    BANNER,
    KIB,
    CommandParser,
    LineParser,
    Reading,
    byte_rate,
    cpu_shares,
    parse_numbers,
)
from .sysstat_parser import Roles, SysstatIostatParser
from .topology import name_roles

__all__ = [
    "BsdIostatParser",
    "CommandParser",
    "IostatParser",
    "LineParser",
    "Reading",
    "SysstatIostatParser",
    "VmstatParser",
]

_VMSTAT_COLUMNS: Final = frozenset(
    {*("r", "b", "swpd", "free", "buff", "cache", "inact", "active", "si", "so", "bi", "bo")}
    | {"in", "cs", "us", "sy", "id", "wa", "st", "gu"}
)


class BsdIostatParser(CommandParser):
    """BSD/macOS ``iostat -w N``: CPU shares per values line (disk MB/s mixes reads and writes)."""

    def __init__(self, *, skip_first: bool = True) -> None:
        super().__init__(skip_first=skip_first)
        self._columns: list[str] | None = None

    def _feed(self, text: str) -> Reading | None:
        tokens = text.split()
        if not tokens:
            return None
        values = parse_numbers(tokens)
        if values is None:
            if "KB/t" in tokens or ("us" in tokens and "id" in tokens):
                self._columns = tokens
            elif not {"cpu", "load", "tty"}.isdisjoint(tokens) or tokens[0].startswith("disk"):
                pass  # the group header above the columns
            else:
                self.garbage += 1
            return None
        columns = self._columns
        if columns is None or len(values) != len(columns):
            self.garbage += 1
            return None
        row = {
            name: values[columns.index(name)]
            for name in ("us", "ni", "sy", "in", "id")
            if name in columns
        }
        cpu = None
        if "id" in row:
            us, sy = (
                row.get("us", 0.0) + row.get("ni", 0.0),
                row.get("sy", 0.0) + row.get("in", 0.0),
            )
            cpu = cpu_shares(us, sy, row["id"], 0.0, 0.0)
        return self._report(Reading(cpu=cpu))


class VmstatParser(CommandParser):
    """procps ``vmstat N``: CPU shares, disk bytes/s from ``bi``/``bo``, memory given a total."""

    def __init__(self, *, mem_total_bytes: float | None = None, skip_first: bool = True) -> None:
        super().__init__(skip_first=skip_first)
        self.mem_total_bytes = mem_total_bytes
        self._columns: list[str] | None = None
        self._extra = False  # columns after the known ones (-t's timestamp)

    def _feed(self, text: str) -> Reading | None:
        tokens = text.split()
        if not tokens or tokens[0].startswith("procs"):
            return None
        if tokens[0] == "r" and "id" in tokens:
            known = 0
            while known < len(tokens) and tokens[known] in _VMSTAT_COLUMNS:
                known += 1
            self._columns, self._extra = tokens[:known], known < len(tokens)
            return None
        columns = self._columns
        values = parse_numbers(tokens[: len(columns)]) if columns is not None else None
        if columns is None or values is None or len(values) != len(columns):
            self.garbage += 1
            return None
        if len(tokens) > len(columns) and not self._extra:
            self.garbage += 1
            return None
        row = dict(zip(columns, values, strict=True))
        if "id" not in row:
            raise ValueError("no idle column")
        cpu = cpu_shares(
            row.get("us", 0.0) + row.get("gu", 0.0),
            row.get("sy", 0.0),
            row["id"],
            row.get("wa", 0.0),
            row.get("st", 0.0),
        )
        disk = DiskRates(
            read_bps=byte_rate(row.get("bi", 0.0) * KIB),
            write_bps=byte_rate(row.get("bo", 0.0) * KIB),
        )
        return self._report(Reading(cpu=cpu, disk=disk, mem=self._memory(row)))

    def _memory(self, row: Mapping[str, float]) -> MemUsage | None:
        total = self.mem_total_bytes
        if not total or not all(name in row for name in ("free", "buff", "cache")):
            return None
        used = total - KIB * (row["free"] + row["buff"] + row["cache"])
        return MemUsage(used_pct=rounded(min(max(100.0 * used / total, 0.0), 100.0)))


class IostatParser:
    """Either ``iostat``: sysstat's or BSD's, as the first header it recognises tells.

    ``roles`` decides which of sysstat's listed devices the disk total counts (see
    :class:`SysstatIostatParser`).
    """

    def __init__(self, *, skip_first: bool = True, roles: Roles = name_roles) -> None:
        self.skip_first = skip_first
        self.roles = roles
        self.inner: CommandParser | None = None
        self._early_garbage = 0

    @property
    def garbage(self) -> int:
        """Lines not understood (including those before the format was known)."""
        return self._early_garbage + (self.inner.garbage if self.inner is not None else 0)

    @property
    def readings(self) -> int:
        """Readings handed out."""
        return self.inner.readings if self.inner is not None else 0

    def feed(self, line: str) -> Reading | None:
        """Take one line; a :class:`Reading` when it completes a report."""
        if self.inner is None:
            text = line.strip()
            if text.startswith(("avg-cpu:", "Device", '{"sysstat"')) or BANNER.match(text):
                self.inner = SysstatIostatParser(skip_first=self.skip_first, roles=self.roles)
            elif "KB/t" in text.split() or text.split()[:1] == ["us"]:
                self.inner = BsdIostatParser(skip_first=self.skip_first)
            elif "cpu" in text.split():
                return None  # BSD's group header: the column header comes next
            else:
                self._early_garbage += bool(text)
                return None
        return self.inner.feed(line)
