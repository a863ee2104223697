"""``%%iostat``: record the machine and this kernel while a cell runs, and leave a static chart.

After ``%load_ext iostat_widget``, a cell starting with ``%%iostat`` runs as usual (its output,
and its error if it raises, show as they would without the magic) while a
:class:`~.recorder.Recorder` samples in the background; when it ends the cell's output gets the
record's chart as a PNG (:mod:`iostat_widget.picture`; saved with the notebook, so GitHub,
nbviewer and a PDF export show it with no kernel and no widget state) and its one-line summary.
The :class:`~iostat_widget.record.Record` is kept in the user namespace as ``_iostat``, and as
``NAME`` too with ``%%iostat NAME``; ``--interval SECONDS`` sets the embedded server's sampling
interval if no monitor started it already; ``--url ws://...`` records another machine's server.
"""

from __future__ import annotations

import argparse
import shlex
from typing import Any, NoReturn

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, magics_class
from IPython.display import display

from ..record import Record
from .recorder import Recorder

__all__ = ["IostatMagics", "load_ipython_extension", "parse_line", "show_record"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"%%iostat: {message}\n{self.format_usage()}")


_PARSER = _Parser(prog="%%iostat", add_help=False)
_PARSER.add_argument("name", nargs="?", help="also keep the record as NAME")
_PARSER.add_argument("--interval", type=float, default=1.0, help="seconds between samples")
_PARSER.add_argument("--url", default=None, help="a server's ws:// URL (default: this machine)")


def parse_line(line: str) -> argparse.Namespace:
    """The magic's line: ``[NAME] [--interval SECONDS] [--url URL]``.

    Raises:
        UsageError: anything else, or a NAME that is not a Python name (IPython shows it
            without a traceback).
    """
    args = _PARSER.parse_args(shlex.split(line))
    if args.name is not None and not args.name.isidentifier():
        raise UsageError(f"%%iostat NAME: {args.name!r} is not a Python name")
    return args


def show_record(record: Record) -> None:
    """Display ``record``'s chart (when matplotlib is there; else a line naming the extra)
    and its summary line, as outputs of the running cell."""
    try:
        record.png()
    except ImportError as err:
        display({"text/plain": f"(no chart: {err})"}, raw=True)  # type: ignore[no-untyped-call]
    else:
        display(record)  # type: ignore[no-untyped-call]
    display({"text/plain": record.summary().line()}, raw=True)  # type: ignore[no-untyped-call]


@magics_class
class IostatMagics(Magics):
    """The ``%%iostat`` cell magic."""

    @cell_magic
    def iostat(self, line: str, cell: str) -> None:
        """``%%iostat [NAME] [--interval SECONDS] [--url URL]``: run the cell while recording;
        then show the record's chart and summary, and keep it as ``_iostat`` (and NAME)."""
        args = parse_line(line)
        try:
            recorder = Recorder(args.url, interval=args.interval)
        except ValueError as err:
            raise UsageError(f"%%iostat: {err}") from None
        shell = self.shell
        assert shell is not None
        recorder.start()
        try:
            shell.run_cell(cell)  # type: ignore[no-untyped-call]  # shows its output, errors
        finally:
            record = recorder.stop()
            shell.user_ns["_iostat"] = record
            if args.name is not None:
                shell.user_ns[args.name] = record
            show_record(record)


def load_ipython_extension(ipython: Any) -> None:
    """Register ``%%iostat`` with ``ipython`` (what ``%load_ext iostat_widget`` calls)."""
    ipython.register_magics(IostatMagics)
