"""A recorded stretch of samples: flat rows with units, a one-line summary, a pandas DataFrame.

Pure (no widgets, no asyncio, no sockets): ``%%iostat`` (:mod:`iostat_widget.widget.magic`) and
``Monitor.to_dataframe()`` hand it samples, and everything here is tested on fixed ones.

Columns (one row per sample): ``t_s`` (epoch seconds), ``seq``, ``host``, ``interval_s``; CPU
shares in percent ``cpu_us_pct``, ``cpu_sy_pct``, ``cpu_id_pct``, ``cpu_wa_pct``,
``cpu_st_pct`` and ``cpu_busy_pct`` (us + sy); rates in bytes per second ``disk_read_Bps``,
``disk_write_Bps``, ``net_rx_Bps``, ``net_tx_Bps``; ``mem_used_pct``. Then the optional figures
that any sample carries (``cpu_irq_pct``, ``disk_read_iops``, ``disk_write_iops``,
``mem_avail_bytes``, ``scope``; NaN where a sample lacks one), then, for a record of this kernel,
``kernel_cpu_pct`` (percent of one core: above 100 with several threads busy) and
``kernel_rss_bytes``.

pandas (for :meth:`Record.to_dataframe`) and matplotlib (for the picture, :mod:`.picture`) are
the ``record`` extra, imported only when used: without them the error names the extra.
"""

from __future__ import annotations

import base64
import contextlib
import importlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Final, TypedDict

from .schema import Sample

__all__ = [
    "BASE_COLUMNS",
    "EXTRA",
    "KernelReading",
    "Record",
    "Summary",
    "flat_rows",
    "format_bytes",
    "require",
    "summarize",
]

#: The optional dependency group that brings pandas and matplotlib.
EXTRA: Final = "record"
#: Every row's first columns, in order.
BASE_COLUMNS: Final = (
    "t_s",
    "seq",
    "host",
    "interval_s",
    "cpu_us_pct",
    "cpu_sy_pct",
    "cpu_id_pct",
    "cpu_wa_pct",
    "cpu_st_pct",
    "cpu_busy_pct",
    "disk_read_Bps",
    "disk_write_Bps",
    "net_rx_Bps",
    "net_tx_Bps",
    "mem_used_pct",
)
#: Optional figures: (column, section, key), kept when any sample has them.
_OPTIONAL: Final = (
    ("cpu_irq_pct", "cpu", "irq"),
    ("disk_read_iops", "disk", "read_iops"),
    ("disk_write_iops", "disk", "write_iops"),
    ("mem_avail_bytes", "mem", "avail_bytes"),
)
_BYTE_UNITS: Final = ("B", "kB", "MB", "GB", "TB", "PB")

Row = dict[str, float | int | str]
"""One sample as flat columns (see the module's docstring)."""


class KernelReading(TypedDict):
    """This kernel process and its children when a sample arrived: ``t`` epoch seconds,
    ``cpu_pct`` percent of one core (100 = one core busy, as ``top`` counts) since the reading
    before, ``rss_bytes`` resident memory summed over the processes (see
    :mod:`iostat_widget.sources.process_cost`)."""

    t: float
    cpu_pct: float
    rss_bytes: float


def require(module: str, what: str) -> ModuleType:
    """Import optional ``module`` for ``what`` (e.g. ``"to_dataframe()"``).

    Raises:
        ImportError: naming the ``record`` extra that brings it.
    """
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(
            f"{what} needs {module}: pip install 'iostat-widget[{EXTRA}]' (or {module} alone)"
        ) from err


def flat_rows(
    samples: Sequence[Sample], kernel: Sequence[KernelReading] | None = None
) -> list[Row]:
    """One :data:`Row` per sample, all with the same columns (see the module's docstring).

    Raises:
        ValueError: ``kernel`` given with a length other than ``len(samples)``.
    """
    if kernel is not None and len(kernel) != len(samples):
        raise ValueError(f"one kernel reading per sample: {len(kernel)} for {len(samples)}")
    optional = [
        (column, section, key)
        for column, section, key in _OPTIONAL
        if any(key in s[section] for s in samples)  # type: ignore[literal-required]
    ]
    scoped = any("scope" in s for s in samples)
    rows = []
    for number, s in enumerate(samples):
        cpu, disk, net = s["cpu"], s["disk"], s["net"]
        figures = (
            cpu["us"], cpu["sy"], cpu["id"], cpu["wa"], cpu["st"], cpu["us"] + cpu["sy"],
            disk["read_bps"], disk["write_bps"], net["rx_bps"], net["tx_bps"], s["mem"]["used_pct"],
        )  # fmt: skip
        row: Row = {"t_s": float(s["t"]), "seq": s["seq"], "host": s["host"]}
        row["interval_s"] = float(s["interval"])
        row |= zip(BASE_COLUMNS[4:], map(float, figures), strict=True)
        for column, section, key in optional:
            part: dict[str, Any] = s[section]  # type: ignore[literal-required]
            row[column] = float(part.get(key, math.nan))
        if scoped:
            row["scope"] = s.get("scope", "")
        if kernel is not None:
            row["kernel_cpu_pct"] = kernel[number]["cpu_pct"]
            row["kernel_rss_bytes"] = kernel[number]["rss_bytes"]
        rows.append(row)
    return rows


def to_dataframe(rows: Sequence[Row], what: str = "to_dataframe()") -> Any:
    """``rows`` as a pandas DataFrame indexed by ``time`` (UTC datetimes from ``t_s``); empty
    ``rows`` give the :data:`BASE_COLUMNS` and no rows.

    Raises:
        ImportError: pandas is not installed (the message names the ``record`` extra).
    """
    pd = require("pandas", what)
    frame = pd.DataFrame(list(rows), columns=None if rows else list(BASE_COLUMNS))
    if not rows:
        frame = frame.astype({"t_s": "float64"})
    index = pd.to_datetime(frame["t_s"], unit="s", utc=True)
    frame.index = pd.DatetimeIndex(index, name="time")
    return frame


def format_bytes(count: float) -> str:
    """A byte count in decimal units, e.g. ``"1.5 kB"`` (as rates read, without the ``/s``)."""
    value, unit = float(count), 0
    while value >= 999.5 and unit < len(_BYTE_UNITS) - 1:
        value /= 1000
        unit += 1
    digits = 0 if unit == 0 or value >= 99.95 else 1
    return f"{value:.{digits}f} {_BYTE_UNITS[unit]}"


@dataclass(frozen=True)
class Summary:
    """A record's headline figures: percentages, bytes, seconds; ``None`` without samples.

    ``read_bytes``/``written_bytes`` integrate the disk rates over each sample's interval.
    """

    seconds: float
    samples: int
    host: str = ""
    cpu_mean_pct: float | None = None
    cpu_peak_pct: float | None = None
    mem_peak_pct: float | None = None
    read_bytes: float = 0.0
    written_bytes: float = 0.0
    kernel_cpu_peak_pct: float | None = None
    kernel_rss_peak_bytes: float | None = None

    def line(self) -> str:
        """The summary in one line of text, e.g. ``iostat: 3.0 s on h, 4 samples; CPU mean
        40.0 %, peak 98.0 %; memory peak 41.0 %; read 0 B, written 1.2 MB; ...``."""
        head = f"iostat: {self.seconds:.1f} s"
        if not self.samples or self.cpu_mean_pct is None:
            return f"{head}, no samples (shorter than the sampling interval?)"
        parts = [
            f"{head} on {self.host}, {self.samples} sample{'s' * (self.samples != 1)}",
            f"CPU mean {self.cpu_mean_pct:.1f} %, peak {self.cpu_peak_pct:.1f} %",
            f"memory peak {self.mem_peak_pct:.1f} %",
            f"read {format_bytes(self.read_bytes)}, written {format_bytes(self.written_bytes)}",
        ]
        if self.kernel_cpu_peak_pct is not None and self.kernel_rss_peak_bytes is not None:
            parts.append(
                f"this kernel: CPU peak {self.kernel_cpu_peak_pct:.1f} %,"
                f" RSS peak {format_bytes(self.kernel_rss_peak_bytes)}"
            )
        return "; ".join(parts)


def summarize(
    samples: Sequence[Sample], seconds: float, kernel: Sequence[KernelReading] | None = None
) -> Summary:
    """The :class:`Summary` of ``samples`` recorded over ``seconds`` of wall time."""
    if not samples:
        return Summary(seconds=seconds, samples=0)
    busy = [s["cpu"]["us"] + s["cpu"]["sy"] for s in samples]
    hosts = dict.fromkeys(s["host"] for s in samples)
    return Summary(
        seconds=seconds,
        samples=len(samples),
        host=", ".join(hosts),
        cpu_mean_pct=sum(busy) / len(busy),
        cpu_peak_pct=max(busy),
        mem_peak_pct=max(s["mem"]["used_pct"] for s in samples),
        read_bytes=sum(s["disk"]["read_bps"] * s["interval"] for s in samples),
        written_bytes=sum(s["disk"]["write_bps"] * s["interval"] for s in samples),
        kernel_cpu_peak_pct=max(k["cpu_pct"] for k in kernel) if kernel else None,
        kernel_rss_peak_bytes=max(k["rss_bytes"] for k in kernel) if kernel else None,
    )


@dataclass
class Record:
    """Samples recorded from ``start`` to ``end`` (epoch seconds), with this kernel's readings
    (one per sample) when it recorded them. Shows as its chart in a notebook (PNG, with the
    ``record`` extra) and as its summary line as text."""

    samples: list[Sample]
    start: float
    end: float
    kernel: list[KernelReading] | None = None
    _png: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def seconds(self) -> float:
        """Wall-clock seconds recorded."""
        return self.end - self.start

    def rows(self) -> list[Row]:
        """One flat row per sample (:func:`flat_rows`)."""
        return flat_rows(self.samples, self.kernel)

    def summary(self) -> Summary:
        """The headline figures (:func:`summarize`)."""
        return summarize(self.samples, self.seconds, self.kernel)

    def to_dataframe(self) -> Any:
        """One row per sample, flat columns with units, a UTC ``time`` index.

        Raises:
            ImportError: pandas is missing (the message names the ``record`` extra).
        """
        return to_dataframe(self.rows())

    def png(self) -> bytes:
        """The record's chart as PNG bytes (drawn once, then kept).

        Raises:
            ImportError: matplotlib is missing (the message names the ``record`` extra).
        """
        if self._png is None:
            from .picture import record_png

            self._png = record_png(self)
        return self._png

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, str]:
        """The chart (``image/png``, base64) when matplotlib is there, and the summary line."""
        bundle = {"text/plain": self.summary().line()}
        with contextlib.suppress(ImportError):  # then the text alone
            bundle["image/png"] = base64.b64encode(self.png()).decode("ascii")
        return bundle

    def __repr__(self) -> str:
        return f"<Record {self.summary().line()}>"
