"""Rows, targets and the Markdown report: every figure is a value next to its own baseline.

A number alone says little on a shared 2-core machine; the same number next to a baseline
measured minutes earlier on the same machine, and their ratio, says how the product compares.
The table is also parsed back by the smoke test, so its shape is defined (and read) here only.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import platform
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Literal

import psutil

__all__ = [
    "FigureResult",
    "Row",
    "Target",
    "machine_lines",
    "parse_table",
    "render",
    "status",
]

Status = Literal["PASS", "FAIL", "info", "n/a", "ERROR"]
HEADER = ("figure", "value", "baseline", "ratio", "target", "result")
PACKAGES = ("websockets", "psutil", "ipywidgets", "bqplot", "ipykernel", "jupyter_client", "numpy")


@dataclass(frozen=True)
class Target:
    """A bound on the value, on value / baseline (``ratio``) or on value - baseline (``excess``)."""

    op: Literal["<=", "=="]
    limit: float
    on: Literal["value", "ratio", "excess"] = "value"
    unit: str = ""

    def met(self, value: float, baseline: float | None) -> bool | None:
        """Whether the bound holds; ``None`` when a ratio cannot be formed."""
        subject = value
        if self.on != "value":
            if baseline is None or (self.on == "ratio" and baseline <= 0):
                return None
            subject = value / baseline if self.on == "ratio" else value - baseline
        return subject <= self.limit if self.op == "<=" else subject == self.limit

    def text(self) -> str:
        op = "≤" if self.op == "<=" else "="
        if self.on == "ratio":
            return f"{op} {self.limit:g}× baseline"  # noqa: RUF001
        if self.on == "excess":
            return f"{op} baseline + {self.limit:g}{(' ' + self.unit) if self.unit else ''}"
        return f"{op} {self.limit:g}{(' ' + self.unit) if self.unit else ''}"


@dataclass
class Row:
    """One line of the table; ``value=None`` with ``missing`` says why nothing was measured."""

    figure: str
    value: float | None
    baseline: float | None = None
    baseline_label: str = ""
    target: Target | None = None
    missing: str = ""  # e.g. "not installed", "not measured: ..."
    error: bool = False


@dataclass
class FigureResult:
    """What one benchmark module returns: its rows and the notes that explain them."""

    rows: list[Row]
    notes: list[str] = field(default_factory=list)


def status(row: Row) -> Status:
    """PASS/FAIL against the target, ``info`` without one, ``n/a`` or ``ERROR`` without a value."""
    if row.error:
        return "ERROR"
    if row.value is None:
        return "n/a"
    if row.target is None:
        return "info"
    met = row.target.met(row.value, row.baseline)
    if met is None:
        return "FAIL"  # a ratio target without a baseline cannot be shown to hold
    return "PASS" if met else "FAIL"


def _number(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    magnitude = abs(value)
    if magnitude >= 100 or value == int(value):
        return f"{value:,.0f}".replace(",", "")
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 0.1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def _cells(row: Row) -> tuple[str, ...]:
    value = _number(row.value) if row.value is not None else (row.missing or "error")
    baseline = "—"
    if row.baseline is not None:
        baseline = _number(row.baseline)
        if row.baseline_label:
            baseline += f" ({row.baseline_label})"
    ratio = "—"
    if row.value is not None and row.baseline:
        ratio = f"{row.value / row.baseline:.2f}×"  # noqa: RUF001
    target = row.target.text() if row.target is not None else "—"
    return (row.figure, value, baseline, ratio, target, status(row))


def _table(rows: Iterable[Row]) -> list[str]:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for row in rows:
        lines.append("| " + " | ".join(c.replace("|", "/") for c in _cells(row)) + " |")
    return lines


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _os_name() -> str:
    try:
        with open("/etc/os-release", encoding="utf-8") as release:
            for line in release:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.system()


def machine_lines(started: dt.datetime, seconds: float, load_before: Sequence[float]) -> list[str]:
    """The machine section: what the numbers were measured on, and how busy it was."""
    versions = ", ".join(f"{name} {_version(name)}" for name in PACKAGES)
    load_after = os.getloadavg()
    memory = psutil.virtual_memory().total / 2**30
    return [
        f"- date: {started.isoformat(timespec='seconds')} (run took {seconds:.0f} s)",
        f"- cores: {os.cpu_count()} logical ({psutil.cpu_count(logical=False)} physical), "
        f"{_cpu_model()}; memory {memory:.1f} GiB",
        f"- load average (1/5/15 min) before: {' / '.join(f'{x:.2f}' for x in load_before)}, "
        f"after: {' / '.join(f'{x:.2f}' for x in load_after)}",
        f"- Python {platform.python_version()} ({sys.implementation.name}), {_os_name()}, "
        f"kernel {platform.release()}",
        f"- iostat-widget {_version('iostat-widget')}; {versions}",
    ]


def render(
    results: Sequence[tuple[str, FigureResult]], machine: Sequence[str], command: str
) -> str:
    """The whole Markdown document."""
    rows = [row for _, result in results for row in result.rows]
    failed = [row.figure for row in rows if status(row) in ("FAIL", "ERROR")]
    out = [
        "# Benchmarks",
        "",
        f"Generated by `{command}`; do not edit by hand. Each value is measured next to its "
        "baseline in the same run; ratio = value / baseline. Targets come from the issue that "
        "asked for these figures; `info` rows have none.",
        "",
        *_table(rows),
        "",
        f"**{len(failed)} of {sum(r.target is not None for r in rows)} targets missed.**"
        if failed
        else "**Every target met.**",
        "",
        "## Machine",
        "",
        *machine,
        "",
        "## How each figure was measured",
    ]
    for name, result in results:
        out += ["", f"### {name}", ""]
        out += [f"- {note}" for note in result.notes] or ["- (no notes)"]
    return "\n".join(out) + "\n"


def parse_table(markdown: str) -> dict[str, dict[str, str]]:
    """The results table read back: figure name → {column: cell}."""
    table: dict[str, dict[str, str]] = {}
    for line in markdown.splitlines():
        if not line.startswith("| ") or line.startswith("| figure |"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        if len(cells) == len(HEADER):
            table[cells[0]] = dict(zip(HEADER, cells, strict=True))
    return table
