"""``python -m benchmarks``: run the figures, write the report, exit non-zero on a missed target.

Exit status: 0 every target met, 1 a target missed, 2 a figure could not be measured (crash).
``--quick`` is the smoke run (every row, tiny sizes, under a minute) used by the test suite; it
writes to a temporary file unless ``--output`` says where, so it never overwrites the docs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shlex
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType, ModuleType

from . import collector, fanout, hosts, kernel, pixel, wire
from .config import Config
from .procs import REPO, raise_nofile, stop_all
from .report import FigureResult, Row, machine_lines, render, status

__all__ = ["FIGURES", "expected_rows", "main"]

FIGURES: dict[str, ModuleType] = {
    "fanout": fanout,
    "collector": collector,
    "wire": wire,
    "kernel": kernel,
    "pixel": pixel,
    "hosts": hosts,
}
TITLES = {
    "fanout": "1. Fan-out",
    "collector": "2. Collector cost",
    "wire": "3. Bytes on the wire",
    "kernel": "4. and 5. Kernel cost and latency to the kernel",
    "pixel": "6. Latency to the pixel",
    "hosts": "7. Many hosts in one kernel",
}


def expected_rows(config: Config, only: Sequence[str] = ()) -> list[str]:
    """Every row name the run will write, in order."""
    out: list[str] = []
    for name in only or list(FIGURES):
        row_names: Callable[[Config], list[str]] = FIGURES[name].row_names
        out += row_names(config)
    return out


def _measure(name: str, config: Config) -> FigureResult:
    started = time.monotonic()
    print(f"== {TITLES[name]}", file=sys.stderr, flush=True)
    try:
        result: FigureResult = FIGURES[name].run(config)
    except Exception as err:
        traceback.print_exc()
        rows = [Row(row, None, error=True) for row in FIGURES[name].row_names(config)]
        result = FigureResult(rows, [f"ERROR: {type(err).__name__}: {err}".replace("\n", " ")])
    finally:
        stop_all()
    seconds = time.monotonic() - started
    result.notes.append(f"Took {seconds:.0f} s.")
    print(f"   {seconds:.1f} s", file=sys.stderr, flush=True)
    return result


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny sizes, < 60 s")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=list(FIGURES),
        default=[],
        metavar="NAME",
        help=f"run only these figures ({', '.join(FIGURES)})",
    )
    parser.add_argument("--output", type=Path, help="where to write the Markdown report")
    args = parser.parse_args(argv)
    config = Config.smoke() if args.quick else Config.full()
    output: Path = args.output
    if output is None:
        if args.quick or args.only:  # a partial or smoke run never replaces the full report
            output = Path(tempfile.gettempdir()) / "iostat-widget-benchmarks.md"
        else:
            output = REPO / "docs" / "benchmarks.md"
    signal.signal(signal.SIGTERM, _terminate)
    raise_nofile()
    started, clock = dt.datetime.now(dt.UTC), time.monotonic()
    load = os.getloadavg()
    results: list[tuple[str, FigureResult]] = []
    try:
        for name in args.only or list(FIGURES):
            results.append((TITLES[name], _measure(name, config)))
    finally:
        stop_all()
    command = shlex.join(["python", "-m", "benchmarks", *(sys.argv[1:] if argv is None else argv)])
    text = render(results, machine_lines(started, time.monotonic() - clock, load), command)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    print(text)
    print(f"written to {output}", file=sys.stderr)
    statuses = [status(row) for _, result in results for row in result.rows]
    if "ERROR" in statuses:
        return 2
    return 1 if "FAIL" in statuses else 0


if __name__ == "__main__":
    sys.exit(main())
